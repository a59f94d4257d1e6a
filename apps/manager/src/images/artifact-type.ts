import { open } from 'node:fs/promises';
import { HearthError } from '@hearth/contract';
import { isExt4 } from './ext4.ts';

/** Bytes at an offset that name a file type. */
interface Magic {
  name: string;
  at: number;
  bytes: number[];
}

const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

/** What a VMM boots as a kernel: an x86 bzImage (boot sector + "HdrS" setup header) or an ELF vmlinux. */
const KERNEL: Magic[][] = [
  [
    { name: 'bzImage', at: 0x1fe, bytes: [0x55, 0xaa] },
    { name: 'bzImage', at: 0x202, bytes: ascii('HdrS') },
  ],
  [{ name: 'ELF', at: 0, bytes: [0x7f, ...ascii('ELF')] }],
];

/** What the kernel unpacks as an initramfs: a newc/crc cpio archive or one of its compressions. */
const INITRD: Magic[][] = [
  [{ name: 'cpio', at: 0, bytes: ascii('07070') }],
  [{ name: 'gzip', at: 0, bytes: [0x1f, 0x8b] }],
  [{ name: 'zstd', at: 0, bytes: [0x28, 0xb5, 0x2f, 0xfd] }],
  [{ name: 'xz', at: 0, bytes: [0xfd, ...ascii('7zXZ'), 0x00] }],
  [{ name: 'lz4', at: 0, bytes: [0x02, 0x21, 0x4c, 0x18] }],
  [{ name: 'lz4', at: 0, bytes: [0x04, 0x22, 0x4d, 0x18] }],
  [{ name: 'bzip2', at: 0, bytes: ascii('BZh') }],
  [{ name: 'lzma', at: 0, bytes: [0x5d, 0x00, 0x00] }],
];

async function head(path: string, n: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function matches(buf: Buffer, all: Magic[]): boolean {
  return all.every((m) => m.bytes.every((b, i) => buf[m.at + i] === b));
}

/**
 * Checks that content is what its kind says it is, before it is stored: a kernel, an initrd or an
 * ext4 rootfs. A web page, an error body or a metadata document is none of them.
 */
export async function checkArtifactType(
  file: string,
  kind: string,
  format: string,
  what: string,
): Promise<void> {
  const invalid = (expected: string) =>
    new HearthError(
      'IMAGE_FORMAT_INVALID',
      `${what} failed: a ${kind} must be ${expected}, and this content is not one.`,
    );
  if (kind === 'rootfs') {
    if (format !== 'ext4' || !(await isExt4(file))) throw invalid('an ext4 filesystem image');
    return;
  }
  if (kind === 'kernel') {
    if (!(await kernelFormat(file))) throw invalid('a Linux kernel (an x86 bzImage or an ELF vmlinux)');
    return;
  }
  if (kind === 'initrd') {
    if (!(await initrdFormat(file))) {
      throw invalid('an initramfs (cpio, or cpio compressed with gzip, zstd, xz, lz4, bzip2 or lzma)');
    }
    return;
  }
  throw invalid('a kernel, an initrd or a rootfs');
}

/** The format of a kernel file as a VMM sees it (`bzImage` or `elf`), or null when it is neither. */
export async function kernelFormat(file: string): Promise<'bzImage' | 'elf' | null> {
  const buf = await head(file, 0x210);
  const found = KERNEL.find((all) => matches(buf, all));
  return found ? (found[0]!.name === 'ELF' ? 'elf' : 'bzImage') : null;
}

const INITRD_FORMATS: Record<string, string> = {
  cpio: 'cpio',
  gzip: 'cpio.gz',
  zstd: 'cpio.zst',
  xz: 'cpio.xz',
  lz4: 'cpio.lz4',
  bzip2: 'cpio.bz2',
  lzma: 'cpio.lzma',
};

/** The format of an initramfs (`cpio`, `cpio.gz`, `cpio.zst`, …), or null when it is not one. */
export async function initrdFormat(file: string): Promise<string | null> {
  const buf = await head(file, 0x210);
  const found = INITRD.find((all) => matches(buf, all));
  return found ? INITRD_FORMATS[found[0]!.name]! : null;
}
