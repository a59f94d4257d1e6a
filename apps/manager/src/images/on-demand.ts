import { stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { HearthError } from '@hearth/contract';
import { sha256File, type BuiltinArtifact } from '@hearth/images';
import type { ImageRow } from '../store/mappers.ts';
import type { Stores } from '../store/index.ts';
import type { ContentStore } from './content-store.ts';

/** How to make one image that is built on first use. */
export interface OnDemandRecipe {
  /** What the log and a failure call it ("the node22 runtime image"). */
  what: string;
  build: () => Promise<BuiltinArtifact>;
  /** `source` of the image record. */
  source: (art: BuiltinArtifact) => string;
  /** How the guest agent runs in it (`inittab`: injected as PID 1; `systemd`: a unit of the image). */
  init: 'inittab' | 'systemd';
}

/**
 * Built-in images made from package archives on first use (runtimes, Debian images): the first
 * ask builds and registers the image, asks meanwhile share that build, later asks find the record.
 */
export class OnDemandImages {
  private readonly building = new Map<string, Promise<ImageRow>>();

  constructor(
    private readonly stores: Stores,
    private readonly files: ContentStore,
    private readonly log: Logger,
  ) {}

  async get(name: string, recipe: OnDemandRecipe): Promise<ImageRow> {
    const have = await this.stores.images.getGlobal(name);
    if (have) return have;
    let p = this.building.get(name);
    if (!p) {
      p = this.build(name, recipe).finally(() => this.building.delete(name));
      this.building.set(name, p);
    }
    return p;
  }

  private async build(name: string, r: OnDemandRecipe): Promise<ImageRow> {
    const t0 = Date.now();
    this.log.info({ image: name }, `building ${r.what} (first use; cached afterwards)`);
    let art: BuiltinArtifact;
    try {
      art = await r.build();
    } catch (e) {
      throw new HearthError(
        'IMAGE_BUILD_FAILED',
        `Building ${r.what} failed: ${(e as Error).message.split('\n')[0]}`,
        {
          detail: { output: (e as Error).message.slice(-4000) },
        },
      );
    }
    const sha = await sha256File(art.path);
    const path = await this.files.ingest(art.path, sha, 'ext4');
    const { size } = await stat(path);
    const row = await this.stores.images.upsertByName({
      name,
      kind: 'rootfs',
      format: 'ext4',
      arch: 'x86_64',
      sizeBytes: size,
      sha256: sha,
      source: r.source(art),
      path,
      builtin: true,
      meta: { ...art.meta, init: r.init },
    });
    this.log.info({ image: name, ms: Date.now() - t0 }, `${r.what} ready`);
    return (await this.stores.images.getUnscoped(row.id))!;
  }
}
