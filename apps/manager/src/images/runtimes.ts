import type { Logger } from 'pino';
import { HearthError, runtimeOfImage, type BuiltRuntime } from '@hearth/contract';
import { ensureRuntime, sha256File } from '@hearth/images';
import type { ImageRow } from '../store/mappers.ts';
import type { Stores } from '../store/index.ts';
import type { ContentStore } from './content-store.ts';

/** `runtime-<name>` images, built from package archives on first use and registered as built-ins. */
export class RuntimeImages {
  private readonly building = new Map<string, Promise<ImageRow>>();

  constructor(
    private readonly stores: Stores,
    private readonly files: ContentStore,
    private readonly log: Logger,
  ) {}

  /** The image for an image name that denotes a runtime (`runtime-node22`), or null. */
  async resolve(asked: string): Promise<ImageRow | null> {
    const runtime = runtimeOfImage(asked);
    if (!runtime) return null;
    // An alias (`runtime-python3`) builds and finds its runtime's own image.
    const imageName = `runtime-${runtime}`;
    const have = await this.stores.images.getGlobal(imageName);
    if (have) return have;
    let p = this.building.get(imageName);
    if (!p) {
      p = this.build(runtime, imageName).finally(() => this.building.delete(imageName));
      this.building.set(imageName, p);
    }
    return p;
  }

  private async build(runtime: BuiltRuntime, name: string): Promise<ImageRow> {
    const t0 = Date.now();
    this.log.info({ runtime }, 'building runtime image (first use; cached afterwards)');
    let art;
    try {
      art = await ensureRuntime(runtime);
    } catch (e) {
      throw new HearthError(
        'IMAGE_BUILD_FAILED',
        `Building the ${runtime} runtime image failed: ${(e as Error).message.split('\n')[0]}`,
        { detail: { output: (e as Error).message.slice(-4000) } },
      );
    }
    const sha = await sha256File(art.path);
    const path = await this.files.ingest(art.path, sha, 'ext4');
    const { size } = await import('node:fs/promises').then((f) => f.stat(path));
    const row = await this.stores.images.upsertByName({
      name,
      kind: 'rootfs',
      format: 'ext4',
      arch: 'x86_64',
      sizeBytes: size,
      sha256: sha,
      source: `runtime recipe (${art.path})`,
      path,
      builtin: true,
      meta: { ...art.meta, init: 'inittab' },
    });
    this.log.info({ runtime, ms: Date.now() - t0 }, 'runtime image ready');
    return (await this.stores.images.getUnscoped(row.id))!;
  }
}
