import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findCarriedKernel } from './disk-kernel.ts';
import type { Partition } from './partitions.ts';

const work = mkdtempSync(join(tmpdir(), 'hearth-disk-kernel-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Bytes a VMM takes for an x86 bzImage: the boot sector signature and the setup header magic. */
function fakeBzImage(tag: string): Buffer {
  const b = Buffer.alloc(0x400);
  b[0x1fe] = 0x55;
  b[0x1ff] = 0xaa;
  b.write('HdrS', 0x202, 'latin1');
  b.write(tag, 0x300, 'latin1');
  return b;
}
const gzip = (tag: string) => Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0]), Buffer.from(tag)]);

/** An ext4 file holding `files` (path under the filesystem root → content). */
function ext4(name: string, files: Record<string, Buffer | string>, features: string[] = []): string {
  const dir = join(work, `${name}.d`);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  const out = join(work, `${name}.ext4`);
  execFileSync('mke2fs', ['-q', '-t', 'ext4', ...features, '-d', dir, out, '8M']);
  return out;
}

const whole = (file: string): Partition => ({
  index: 1,
  start: 0,
  size: readFileSync(file).length,
  type: '0x83',
});

describe('findCarriedKernel: the kernel a disk image boots with', () => {
  it('takes the newest vmlinuz in /boot (6.10 after 6.9) with the initramfs of its version', async () => {
    const fs = ext4('root', {
      'sbin/init': '#!/bin/sh\n',
      'boot/vmlinuz-6.9.0-1-amd64': fakeBzImage('old'),
      'boot/vmlinuz-6.10.0-2-amd64': fakeBzImage('new'),
      'boot/initrd.img-6.9.0-1-amd64': gzip('old'),
      'boot/initrd.img-6.10.0-2-amd64': gzip('new'),
      'boot/config-6.10.0-2-amd64': 'CONFIG_X=y\n',
    });
    const k = await findCarriedKernel(fs, whole(fs), [], join(work, 'a'));
    expect(k).toMatchObject({
      name: 'vmlinuz-6.10.0-2-amd64',
      version: '6.10.0-2-amd64',
      format: 'bzImage',
      initrd: { name: 'initrd.img-6.10.0-2-amd64' },
    });
    // Copied out byte for byte, binary content included.
    expect(readFileSync(k!.file).subarray(0x300, 0x303).toString()).toBe('new');
    expect(readFileSync(k!.initrd!.file).toString('latin1')).toContain('new');
  });

  it('finds a kernel on a separate /boot partition, and an Alpine-style pair', async () => {
    const root = ext4('root2', { 'sbin/init': '#!/bin/sh\n', 'boot/.keep': '' });
    const boot = ext4('boot2', { 'vmlinuz-virt': fakeBzImage('alpine'), 'initramfs-virt': gzip('a') });
    // Both filesystems laid end to end in one file, as partitions of a disk.
    const disk = join(work, 'disk2.raw');
    writeFileSync(disk, Buffer.concat([readFileSync(root), readFileSync(boot)]));
    const size = readFileSync(root).length;
    const k = await findCarriedKernel(
      disk,
      { index: 1, start: 0, size, type: '0x83' },
      [{ index: 2, start: size, size: readFileSync(boot).length, type: '0x83' }],
      join(work, 'b'),
    );
    expect(k).toMatchObject({ name: 'vmlinuz-virt', version: 'virt', initrd: { name: 'initramfs-virt' } });
  });

  it('carries none when /boot has no kernel, or a "vmlinuz" that is not one', async () => {
    const none = ext4('none', { 'sbin/init': '#!/bin/sh\n', 'boot/grub/grub.cfg': 'x' });
    expect(await findCarriedKernel(none, whole(none), [], join(work, 'c'))).toBeNull();
    const fake = ext4('fake', { 'boot/vmlinuz-1.0': '<html>not a kernel</html>' });
    expect(await findCarriedKernel(fake, whole(fake), [], join(work, 'd'))).toBeNull();
  });

  it('keeps a kernel whose initramfs is not one, without it', async () => {
    const fs = ext4('badinitrd', { 'boot/vmlinuz-2.0': fakeBzImage('k'), 'boot/initrd.img-2.0': 'text' });
    const k = await findCarriedKernel(fs, whole(fs), [], join(work, 'e'));
    expect(k).toMatchObject({ name: 'vmlinuz-2.0', initrd: null });
  });

  it('does not trust a listing a crafted name forges a line into', async () => {
    // A directory entry whose name holds a newline and slashes (no real file can be named so):
    // debugfs lists it unescaped, and it would claim a small vmlinuz-9 for the huge one.
    const forged = '\n/12/100644/0/0/vmlinuz-9/1024/\nx';
    const stand = 'n'.repeat(forged.length);
    // The forged line names a file that is there (so the listing's lie is all that would mislead).
    const fs = ext4('forged', { [`boot/${stand}`]: 'x', 'boot/vmlinuz-9': fakeBzImage('k') }, [
      '-O',
      '^metadata_csum,^dir_index',
    ]);
    const bytes = readFileSync(fs);
    const at = bytes.indexOf(stand);
    expect(at).toBeGreaterThan(0);
    bytes.write(forged, at, 'latin1');
    writeFileSync(fs, bytes);
    expect(execFileSync('debugfs', ['-R', 'ls -p /boot', fs], { encoding: 'utf8' })).toContain(
      '/vmlinuz-9/1024/',
    );
    expect(await findCarriedKernel(fs, whole(fs), [], join(work, 'f'))).toBeNull();
  });
});
