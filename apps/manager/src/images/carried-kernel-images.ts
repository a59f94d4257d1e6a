import { BASE_CMDLINE } from '@hearth/images';
import type { ImageRow } from '../store/mappers.ts';
import type { NewImage } from '../store/images.ts';
import type { Stores } from '../store/index.ts';
import type { ContentStore } from './content-store.ts';
import type { CarriedKernel } from './disk-kernel.ts';
import { discardIfUnused } from './discard-unused.ts';

type Register = (
  img: Omit<NewImage, 'source' | 'meta'>,
  extra: { source: string; meta: Record<string, unknown> },
) => Promise<ImageRow>;

/** `base-kernel`, else `base-kernel-2`, … : the first name the project has free. */
async function freeName(stores: Stores, base: string, suffix: string, project: string): Promise<string> {
  const stem = `${base.slice(0, 110)}-${suffix}`;
  for (let i = 1; ; i++) {
    const name = i === 1 ? stem : `${stem}-${i}`;
    if (!(await stores.images.get(name, project))) return name;
  }
}

/**
 * Stores the kernel (and initramfs) a whole-disk image carries as images of their own, named after
 * the rootfs (`NAME-kernel`, `NAME-initrd`): a VM of that rootfs boots them when its VMM can, and
 * they can be named as `kernel` for other images. The kernel's record names its initramfs by id
 * and the command line it boots with.
 */
export async function registerCarriedKernel(
  deps: { stores: Stores; files: ContentStore; register: Register },
  carried: CarriedKernel,
  rootfs: { name: string; project: string; source: string },
): Promise<{ kernel: ImageRow; initrd: ImageRow | null }> {
  const { stores, files, register } = deps;
  const common = { arch: 'x86_64', builtin: false, project: rootfs.project } as const;
  let initrd: ImageRow | null = null;
  if (carried.initrd) {
    const w = await files.adopt(carried.initrd.file);
    initrd = await register(
      {
        ...common,
        name: await freeName(stores, rootfs.name, 'initrd', rootfs.project),
        kind: 'initrd',
        format: carried.initrd.format,
        sizeBytes: w.sizeBytes,
        sha256: w.sha256,
        path: await files.commit(w, carried.initrd.format),
      },
      { source: rootfs.source, meta: { file: carried.initrd.name, carriedBy: rootfs.name } },
    );
  }
  const w = await files.adopt(carried.file);
  try {
    const kernel = await register(
      {
        ...common,
        name: await freeName(stores, rootfs.name, 'kernel', rootfs.project),
        kind: 'kernel',
        format: carried.format,
        sizeBytes: w.sizeBytes,
        sha256: w.sha256,
        path: await files.commit(w, carried.format),
      },
      {
        source: rootfs.source,
        meta: {
          version: carried.version,
          file: carried.name,
          cmdline: BASE_CMDLINE,
          ...(initrd ? { initrd: initrd.id } : {}),
          carriedBy: rootfs.name,
          description: `the kernel carried by disk image ${rootfs.name}`,
        },
      },
    );
    return { kernel, initrd };
  } catch (e) {
    if (initrd) await dropUnused(deps, initrd);
    throw e;
  }
}

type Deps = { stores: Stores; files: ContentStore };

/** Deletes `row` unless a VM boots it, and its content when no other record has it; true when deleted. */
async function dropUnused(deps: Deps, row: ImageRow): Promise<boolean> {
  if (!(await deps.stores.images.deleteUnused(row.id))) return false;
  await discardIfUnused(deps, row.path);
  return true;
}

/** The initramfs carried with `kernel` (a built-in kernel's is never dropped). */
async function dropInitrdOf(deps: Deps, kernel: ImageRow): Promise<void> {
  const id = typeof kernel.meta.initrd === 'string' ? kernel.meta.initrd : null;
  const initrd = id ? await deps.stores.images.getUnscoped(id) : null;
  if (initrd && !initrd.builtin && initrd.meta.carriedBy === kernel.meta.carriedBy)
    await dropUnused(deps, initrd);
}

/** A carried kernel, then its initramfs: both stay while a VM boots the kernel. */
export async function dropCarriedKernel(deps: Deps, kernel: ImageRow): Promise<void> {
  if (await dropUnused(deps, kernel)) await dropInitrdOf(deps, kernel);
}

/**
 * After an image is deleted: a disk image's carried kernel and initramfs go too (unless a VM
 * still boots the kernel: they then stay as ordinary images until deleted by name), and a
 * carried kernel's initramfs goes with it.
 */
export async function dropCarriedOf(deps: Deps, deleted: ImageRow): Promise<void> {
  if (deleted.kind === 'kernel' && typeof deleted.meta.carriedBy === 'string') {
    await dropInitrdOf(deps, deleted);
    return;
  }
  const kernelId = typeof deleted.meta.kernel === 'string' ? deleted.meta.kernel : null;
  const kernel = kernelId ? await deps.stores.images.getUnscoped(kernelId) : null;
  if (kernel && kernel.meta.carriedBy === deleted.name) await dropCarriedKernel(deps, kernel);
}
