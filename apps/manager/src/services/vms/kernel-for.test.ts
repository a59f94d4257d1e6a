import { describe, expect, it } from 'vitest';
import type { ImageRow } from '../../store/mappers.ts';
import { kernelFor } from './create-input.ts';

const row = (name: string, format: string) => ({ id: `img_${name}`, name, format }) as ImageRow;
const ours = row('kernel-default', 'elf');

describe('kernelFor: which kernel a VM of a disk image that carries one boots', () => {
  it('QEMU boots the carried kernel, bzImage or ELF', () => {
    const carried = row('disk-kernel', 'bzImage');
    expect(kernelFor('qemu', { kernel: ours, carried })).toEqual({
      kernel: carried,
      note: "; the image's own kernel disk-kernel",
    });
  });

  it('Firecracker boots a carried ELF vmlinux, and ours instead of a bzImage, saying why', () => {
    const elf = row('disk-kernel', 'elf');
    expect(kernelFor('firecracker', { kernel: ours, carried: elf }).kernel).toBe(elf);
    const bz = kernelFor('firecracker', { kernel: ours, carried: row('disk-kernel', 'bzImage') });
    expect(bz.kernel).toBe(ours);
    expect(bz.note).toBe(
      "; kernel kernel-default: firecracker cannot boot the image's bzImage kernel disk-kernel",
    );
  });

  it('an image without a carried kernel (or a VM that named one) boots the kernel resolved', () => {
    expect(kernelFor('qemu', { kernel: ours, carried: null })).toEqual({ kernel: ours, note: '' });
  });
});
