import { BASE_CMDLINE } from '@hearth/images';
import type { ImageRow } from '../store/mappers.ts';
import type { NewImage } from '../store/images.ts';
import type { Stores } from '../store/index.ts';
import type { ContentStore } from './content-store.ts';
import type { CarriedKernel } from './disk-kernel.ts';

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
        format: 'cpio.gz',
        sizeBytes: w.sizeBytes,
        sha256: w.sha256,
        path: await files.commit(w, 'initrd'),
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
    if (initrd) await dropCarried(deps, [initrd]);
    throw e;
  }
}

/** Removes carried-kernel records (and content no other record uses) after the rootfs failed to register. */
export async function dropCarried(
  deps: { stores: Stores; files: ContentStore },
  rows: ImageRow[],
): Promise<void> {
  for (const row of rows) {
    await deps.stores.images.deleteUnused(row.id).catch(() => false);
    if (row.path && (await deps.stores.images.countByPath(row.path)) === 0)
      await deps.files.discard(row.path);
  }
}

/**
 * After a disk image's rootfs is deleted: its carried kernel and initramfs go too, unless a VM
 * still boots them (they then stay, as ordinary images, until deleted by name).
 */
export async function dropCarriedOf(
  deps: { stores: Stores; files: ContentStore },
  rootfs: ImageRow,
): Promise<void> {
  const kernelId = typeof rootfs.meta.kernel === 'string' ? rootfs.meta.kernel : null;
  const kernel = kernelId ? await deps.stores.images.getUnscoped(kernelId) : null;
  if (!kernel || kernel.meta.carriedBy !== rootfs.name || kernel.used_by?.length) return;
  const initrdId = typeof kernel.meta.initrd === 'string' ? kernel.meta.initrd : null;
  const initrd = initrdId ? await deps.stores.images.getUnscoped(initrdId) : null;
  await dropCarried(deps, [kernel, ...(initrd && !initrd.used_by?.length ? [initrd] : [])]);
}
