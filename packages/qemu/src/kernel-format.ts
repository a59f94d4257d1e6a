import { open } from 'node:fs/promises';

export type KernelFormat = 'elf' | 'bzImage';

/**
 * Recognises the two kernel formats QEMU microvm boots: an ELF vmlinux (PVH entry) or a bzImage
 * ("HdrS" at 0x202). Anything else would be loaded anyway and spin silently until the boot
 * timeout, so it is refused before launch.
 */
export async function kernelFormat(path: string): Promise<KernelFormat | null> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(0x206);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    if (bytesRead >= 4 && head.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) return 'elf';
    if (bytesRead >= 0x206 && head.subarray(0x202, 0x206).toString('latin1') === 'HdrS') return 'bzImage';
    return null;
  } finally {
    await fh.close();
  }
}
