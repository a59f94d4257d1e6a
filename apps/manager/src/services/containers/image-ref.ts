import { HearthError } from '@hearth/contract';
import type { ImageRow } from '../../store/mappers.ts';
import { parseOciRef } from '../../images/oci-ref.ts';
import type { ContainerContext } from './context.ts';

/** Where a container's image comes from: an imported image now, or a pull of `ref` first. */
export type ImageChoice = { image: ImageRow } | { pull: string };

const notFound = (image: string, why: string) =>
  new HearthError('IMAGE_NOT_FOUND', `Creating the container failed: image "${image}" ${why}.`, {
    fields: { image: [why] },
  });

/**
 * An imported image (id or name) wins unless `pull` is `always`; else a registry reference: with
 * `missing`, an earlier import of the same reference is reused; otherwise it is pulled (never
 * with `never`).
 */
export async function chooseImage(
  ctx: ContainerContext,
  image: string,
  pull: 'missing' | 'always' | 'never',
  project: string,
): Promise<ImageChoice> {
  const ref = parseOciRef(image);
  if (pull !== 'always' || !ref) {
    const row = await ctx.stores.images.get(image, project);
    if (row) {
      if (row.kind !== 'rootfs') throw notFound(image, `is a ${row.kind}, not a rootfs image`);
      if (row.status !== 'ready') throw notFound(image, 'has no content yet');
      return { image: row };
    }
  }
  if (!ref) throw notFound(image, 'is neither an imported image nor a registry reference');
  if (pull !== 'always') {
    const hit = await ctx.stores.images.findByOciRef(ref.canonical, project);
    if (hit) return { image: hit };
  }
  if (pull === 'never') throw notFound(image, 'is not imported and pull is `never`');
  if (!ctx.images) throw notFound(image, 'is not imported and this manager cannot pull');
  return { pull: image };
}

/** Imports `ref` through the image service, reporting progress into the container's `pull`. */
export async function pullImage(ctx: ContainerContext, id: string, ref: string, project: string) {
  let last = 0;
  let phase = '';
  const { row, cached } = await ctx.images!.import(
    { ref, source: 'oci', kind: 'rootfs', stream: false },
    project,
    (e) => {
      const percent =
        e.bytes !== undefined && e.totalBytes
          ? Math.min(100, Math.round((e.bytes / e.totalBytes) * 100))
          : null;
      // Written at each phase change and at most every 250 ms within one, not per chunk.
      const now = Date.now();
      if (e.phase === phase && now - last < 250) return;
      phase = e.phase;
      last = now;
      void ctx.stores.containers.patch(id, { pull: { percent, message: e.message } }).catch(() => undefined);
    },
  );
  return { row, cached };
}
