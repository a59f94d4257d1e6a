import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernelFormat } from './kernel-format.ts';

describe('kernelFormat', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearth-kfmt-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('recognises ELF and bzImage, refuses anything else', async () => {
    const elf = Buffer.alloc(64);
    elf.set([0x7f, 0x45, 0x4c, 0x46]);
    const bz = Buffer.alloc(0x300);
    bz.write('HdrS', 0x202, 'latin1');
    await writeFile(join(dir, 'elf'), elf);
    await writeFile(join(dir, 'bz'), bz);
    await writeFile(join(dir, 'junk'), Buffer.alloc(8192, 7));
    await writeFile(join(dir, 'tiny'), 'x');
    expect(await kernelFormat(join(dir, 'elf'))).toBe('elf');
    expect(await kernelFormat(join(dir, 'bz'))).toBe('bzImage');
    expect(await kernelFormat(join(dir, 'junk'))).toBeNull();
    expect(await kernelFormat(join(dir, 'tiny'))).toBeNull();
  });
});
