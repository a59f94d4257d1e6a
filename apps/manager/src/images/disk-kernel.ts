import { rm, stat } from 'node:fs/promises';
import { runOnUntrustedDisk } from '@hearth/images';
import { checkArtifactType, kernelFormat } from './artifact-type.ts';
import type { Partition } from './partitions.ts';

/** A kernel a whole-disk image carries, and the initramfs made for it, copied out at import. */
export interface CarriedKernel {
  /** The file's name on the disk (`vmlinuz-6.1.0-28-cloud-amd64`) and the version it names. */
  name: string;
  version: string;
  file: string;
  format: 'bzImage' | 'elf';
  initrd: { name: string; file: string } | null;
}

// Bounds that keep a crafted filesystem from making the import copy out absurd files.
const MAX_KERNEL_BYTES = 128 * 2 ** 20;
const MAX_INITRD_BYTES = 1024 * 2 ** 20;
// Names passed to debugfs as part of a request: nothing it would split or interpret.
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+~-]*$/;

interface Entry {
  name: string;
  size: number;
}

/** Regular files of one directory of the ext4 `offset` bytes into `raw` (debugfs `ls -p`: `/inode/mode/uid/gid/name/size/`). */
async function regularFiles(raw: string, offset: number, dir: string): Promise<Entry[]> {
  const r = await runOnUntrustedDisk(
    raw,
    (dev) => ['debugfs', '-R', `ls -p ${dir}`, `${dev}?offset=${offset}`],
    {
      readOnly: true,
      timeoutMs: 60_000,
    },
  ).catch(() => ({ stdout: '' }));
  const files: Entry[] = [];
  for (const line of r.stdout.split('\n')) {
    const f = line.split('/');
    if (f.length < 7 || !f[2]!.startsWith('10')) continue; // 10xxxx: a regular file
    const size = Number(f[6]);
    if (SAFE_NAME.test(f[5]!) && Number.isSafeInteger(size)) files.push({ name: f[5]!, size });
  }
  return files;
}

const byVersion = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/** The newest kernel among `files`, and its initramfs by the names distributions give it. */
function pickPair(files: Entry[]): { kernel: Entry; version: string; initrd: Entry | null } | null {
  const kernels = files
    .filter(
      (f) => /^(vmlinuz|bzImage|vmlinux)(-.+)?$/.test(f.name) && f.size > 0 && f.size <= MAX_KERNEL_BYTES,
    )
    .sort((a, b) => byVersion(b.name, a.name));
  const kernel = kernels[0];
  if (!kernel) return null;
  const version = kernel.name.replace(/^(vmlinuz|bzImage|vmlinux)-?/, '');
  const names = version
    ? [`initrd.img-${version}`, `initramfs-${version}.img`, `initramfs-${version}`, `initrd-${version}`]
    : ['initrd.img', 'initramfs.img', 'initrd'];
  const initrd =
    names
      .map((n) => files.find((f) => f.name === n))
      .find((f) => f && f.size > 0 && f.size <= MAX_INITRD_BYTES) ?? null;
  return { kernel, version, initrd };
}

/** Copies `dir/name` out of the ext4 at `offset` into `out` (debugfs `cat` to a descriptor), checked against the listed size. */
async function copyOut(
  raw: string,
  offset: number,
  path: string,
  size: number,
  out: string,
): Promise<boolean> {
  const r = await runOnUntrustedDisk(
    raw,
    (dev) => ['debugfs', '-R', `cat ${path}`, `${dev}?offset=${offset}`],
    {
      readOnly: true,
      timeoutMs: 5 * 60_000,
      stdoutFile: out,
    },
  );
  return r.code === 0 && (await stat(out)).size === size;
}

/**
 * The kernel a whole-disk image boots with, when it carries one: `/boot` of the root filesystem
 * first, then the top of any other ext4 partition (a separate /boot). The newest `vmlinuz-*` is
 * taken with the initramfs of the same version; both are copied out and checked to be what they
 * claim (a bzImage or ELF kernel, an initramfs), else the image carries none. `work` is a path
 * prefix for the copies; the caller removes them.
 */
export async function findCarriedKernel(
  raw: string,
  root: Partition,
  others: Partition[],
  work: string,
  what: string,
): Promise<CarriedKernel | null> {
  const places = [
    { offset: root.start, dir: '/boot' },
    ...others.map((p) => ({ offset: p.start, dir: '/' })),
  ];
  for (const { offset, dir } of places) {
    const pair = pickPair(await regularFiles(raw, offset, dir));
    if (!pair) continue;
    const at = (n: string) => (dir === '/' ? `/${n}` : `${dir}/${n}`);
    const kernelFile = `${work}.vmlinuz`;
    const initrdFile = `${work}.initrd`;
    const format = (await copyOut(raw, offset, at(pair.kernel.name), pair.kernel.size, kernelFile))
      ? await kernelFormat(kernelFile)
      : null;
    if (!format) {
      await rm(kernelFile, { force: true });
      continue;
    }
    let initrd: CarriedKernel['initrd'] = null;
    if (
      pair.initrd &&
      (await copyOut(raw, offset, at(pair.initrd.name), pair.initrd.size, initrdFile)) &&
      (await checkArtifactType(initrdFile, 'initrd', 'initrd', what).then(
        () => true,
        () => false,
      ))
    )
      initrd = { name: pair.initrd.name, file: initrdFile };
    else await rm(initrdFile, { force: true });
    return { name: pair.kernel.name, version: pair.version, file: kernelFile, format, initrd };
  }
  return null;
}
