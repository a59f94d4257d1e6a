import { stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { HearthError } from '@hearth/contract';
import { ensureDistro, isDistroName, sha256File, type DistroName } from '@hearth/images';
import type { ImageRow } from '../store/mappers.ts';
import type { Stores } from '../store/index.ts';
import type { ContentStore } from './content-store.ts';

/**
 * The Debian images (`debian-12`, `debian-13`): built from Debian's packages on first use (the
 * create request waits), then registered as built-ins like the runtimes.
 */
export class DistroImages {
  private readonly building = new Map<string, Promise<ImageRow>>();

  constructor(
    private readonly stores: Stores,
    private readonly files: ContentStore,
    private readonly log: Logger,
  ) {}

  /** The image for a distribution's name, or null for any other name. */
  async resolve(imageName: string): Promise<ImageRow | null> {
    if (!isDistroName(imageName)) return null;
    const have = await this.stores.images.getGlobal(imageName);
    if (have) return have;
    let p = this.building.get(imageName);
    if (!p) {
      p = this.build(imageName).finally(() => this.building.delete(imageName));
      this.building.set(imageName, p);
    }
    return p;
  }

  private async build(name: DistroName): Promise<ImageRow> {
    const t0 = Date.now();
    this.log.info({ image: name }, 'building Debian image (first use; cached afterwards)');
    let art;
    try {
      art = await ensureDistro(name);
    } catch (e) {
      throw new HearthError(
        'IMAGE_BUILD_FAILED',
        `Building the ${name} image failed: ${(e as Error).message.split('\n')[0]}`,
        { detail: { output: (e as Error).message.slice(-4000) } },
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
      source: `distribution recipe (${art.path})`,
      path,
      builtin: true,
      // The agent is a systemd unit baked into the image: nothing to inject, not PID 1.
      meta: { ...art.meta, init: 'systemd' },
    });
    this.log.info({ image: name, ms: Date.now() - t0 }, 'Debian image ready');
    return (await this.stores.images.getUnscoped(row.id))!;
  }
}
