import { ensureDistro, isDistroName } from '@hearth/images';
import type { ImageRow } from '../store/mappers.ts';
import type { OnDemandImages } from './on-demand.ts';

/**
 * The Debian images (`debian-12`, `debian-13`): built from Debian's packages on first use (the
 * create request waits), then registered as built-ins like the runtimes.
 */
export class DistroImages {
  constructor(private readonly images: OnDemandImages) {}

  /** The image for a distribution's name, or null for any other name. */
  async resolve(imageName: string): Promise<ImageRow | null> {
    if (!isDistroName(imageName)) return null;
    return this.images.get(imageName, {
      what: `the ${imageName} image`,
      build: () => ensureDistro(imageName),
      source: (art) => `distribution recipe (${art.path})`,
      // The agent is a systemd unit baked into the image: nothing to inject, not PID 1.
      init: 'systemd',
    });
  }
}
