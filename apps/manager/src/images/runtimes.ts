import { runtimeOfImage } from '@hearth/contract';
import { ensureRuntime } from '@hearth/images';
import type { ImageRow } from '../store/mappers.ts';
import type { OnDemandImages } from './on-demand.ts';

/** `runtime-<name>` images, built from package archives on first use and registered as built-ins. */
export class RuntimeImages {
  constructor(private readonly images: OnDemandImages) {}

  /** The image for an image name that denotes a runtime (`runtime-node22`), or null. */
  async resolve(asked: string): Promise<ImageRow | null> {
    const runtime = runtimeOfImage(asked);
    if (!runtime) return null;
    // An alias (`runtime-python3`) builds and finds its runtime's own image.
    return this.images.get(`runtime-${runtime}`, {
      what: `the ${runtime} runtime image`,
      build: () => ensureRuntime(runtime),
      source: (art) => `runtime recipe (${art.path})`,
      init: 'inittab',
    });
  }
}
