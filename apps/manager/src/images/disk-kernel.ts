import { chmod, rm, stat } from 'node:fs/promises';
import { runOnUntrustedDisk } from '@hearth/images';
import { initrdFormat, kernelFormat } from './artifact-type.ts';
import type { Partition } from './partitions.ts';

/** A kernel a whole-disk image carries, and the initramfs made for it, copied out at import. */
export interface CarriedKernel {
  /** The file's name on the disk (`vmlinuz-6.1.0-28-cloud-amd64`) and the version it names. */
  name: string;
  version: string;
  file: string;
  format: 'bzImage' | 'elf';
  initrd: { name: string; file: string; format: string } | null;
}

// Bounds that keep a crafted filesystem from making the import copy out absurd files (each copy
// is also stopped by the kernel at its listed size) or scan without end.
const MAX_KERNEL_BYTES = 128 * 2 ** 20;
const MAX_INITRD_BYTES = 1024 * 2 ** 20;
const MAX_BOOT_PARTITIONS = 8;
// One line of debugfs `ls -p`: /inode/mode/uid/gid/name/size/
const LS_LINE = /^\/\d+\/(\d{6})\/\d+\/\d+\/([^/]*)\/(\d*)\/$/;
// Names passed to debugfs as part of a request: nothing it would split or interpret.
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+~-]*$/;

interface Entry {
  name: string;
  size: number;
}

/**
 * Regular files of one directory of the ext4 `offset` bytes into `raw`. Names are not escaped in
 * debugfs's listing: a name with a newline could forge a line, so a listing with any line that
 * is not one whole entry is not trusted at all.
 */
async function regularFiles(raw: string, offset: number, dir: string): Promise<Entry[]> {
  const r = await runOnUntrustedDisk(
    raw,
    (dev) => ['debugfs', '-R', `ls -p ${dir}`, `${dev}?offset=${offset}`],
    {
      readOnly: true,
      timeoutMs: 60_000,
    },
  );
  const files: Entry[] = [];
  for (const line of r.stdout.split('\n')) {
    if (line === '') continue;
    const m = LS_LINE.exec(line);
    if (!m) return [];
    const [, mode, name, size] = m;
    if (mode!.startsWith('10') && SAFE_NAME.test(name!) && size)
      files.push({ name: name!, size: Number(size) });
  }
  return files;
}

const KERNEL_NAME = /^(vmlinuz|bzImage|vmlinux)(-.+)?$/;
const versionOf = (name: string) => name.replace(/^(vmlinuz|bzImage|vmlinux)-?/, '');
const byVersion = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/** The newest kernel among `files`, and its initramfs by the names distributions give it. */
function pickPair(files: Entry[]): { kernel: Entry; version: string; initrd: Entry | null } | null {
  const kernels = files
    .filter((f) => KERNEL_NAME.test(f.name) && f.size > 0 && f.size <= MAX_KERNEL_BYTES)
    .sort((a, b) => byVersion(versionOf(b.name), versionOf(a.name)));
  const kernel = kernels[0];
  if (!kernel) return null;
  const version = versionOf(kernel.name);
  const names = version
    ? [`initrd.img-${version}`, `initramfs-${version}.img`, `initramfs-${version}`, `initrd-${version}`]
    : ['initrd.img', 'initramfs.img', 'initrd'];
  const initrd =
    names
      .map((n) => files.find((f) => f.name === n))
      .find((f) => f && f.size > 0 && f.size <= MAX_INITRD_BYTES) ?? null;
  return { kernel, version, initrd };
}

/**
 * Copies `path` out of the ext4 at `offset` into `out` (debugfs `cat` to a descriptor, stopped
 * past the listed size), readable like every stored image; false when it is not exactly that size.
 */
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
      maxStdoutBytes: size,
    },
  );
  if (r.code !== 0 || (await stat(out)).size !== size) return false;
  await chmod(out, 0o644);
  return true;
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
): Promise<CarriedKernel | null> {
  const kernelFile = `${work}.vmlinuz`;
  const initrdFile = `${work}.initrd`;
  const drop = () => Promise.all([rm(kernelFile, { force: true }), rm(initrdFile, { force: true })]);
  try {
    return await find(raw, root, others.slice(0, MAX_BOOT_PARTITIONS), kernelFile, initrdFile, drop);
  } catch {
    // A disk the tools cannot read carries no kernel we can use: the image boots ours.
    await drop();
    return null;
  }
}

async function find(
  raw: string,
  root: Partition,
  others: Partition[],
  kernelFile: string,
  initrdFile: string,
  drop: () => Promise<unknown>,
): Promise<CarriedKernel | null> {
  const places = [
    { offset: root.start, dir: '/boot' },
    ...others.map((p) => ({ offset: p.start, dir: '/' })),
  ];
  for (const { offset, dir } of places) {
    const pair = pickPair(await regularFiles(raw, offset, dir));
    if (!pair) continue;
    const at = (n: string) => (dir === '/' ? `/${n}` : `${dir}/${n}`);
    const format = (await copyOut(raw, offset, at(pair.kernel.name), pair.kernel.size, kernelFile))
      ? await kernelFormat(kernelFile)
      : null;
    if (!format) {
      await drop();
      continue;
    }
    const initrdOk =
      pair.initrd && (await copyOut(raw, offset, at(pair.initrd.name), pair.initrd.size, initrdFile))
        ? await initrdFormat(initrdFile)
        : null;
    if (!initrdOk) await rm(initrdFile, { force: true });
    const initrd =
      initrdOk && pair.initrd ? { name: pair.initrd.name, file: initrdFile, format: initrdOk } : null;
    return { name: pair.kernel.name, version: pair.version, file: kernelFile, format, initrd };
  }
  return null;
}
