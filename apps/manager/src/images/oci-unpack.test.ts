import { mkdtemp, readdir, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { craftOciLayout, craftTar } from '../../../../test/helpers/tar-craft.ts';
import { unpackLayout } from './oci-import.ts';

// An image's layers are the attacker's: its symlinks, hard links and whiteouts must resolve
// inside the rootfs, and neither umoci nor the manager's own additions may write through them.
describe('OCI unpack stays inside the bundle', () => {
  let work: string;
  let outside: string;

  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'hearth-unpack-'));
    // A directory of the host that the image names by its absolute path.
    outside = await mkdtemp(join(tmpdir(), 'hearth-outside-'));
    await writeFile(join(outside, 'secret'), 'host data\n');
    await writeFile(join(outside, 'victim'), 'keep me\n');
  });
  afterEach(async () => {
    await rm(work, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  const expectOutsideUntouched = async () => {
    expect((await readdir(outside)).sort()).toEqual(['secret', 'victim']);
    expect(await readFile(join(outside, 'secret'), 'utf8')).toBe('host data\n');
    expect((await stat(join(outside, 'secret'))).nlink).toBe(1);
    expect(await readFile(join(outside, 'victim'), 'utf8')).toBe('keep me\n');
  };

  it('an `etc -> <host dir>` symlink and then etc/evil write nothing on the host', async () => {
    const layout = join(work, 'layout');
    await craftOciLayout(layout, [
      craftTar([
        { name: 'etc', type: 'symlink', linkname: outside },
        { name: 'etc/evil', type: 'file', body: 'owned\n' },
        { name: 'root', type: 'symlink', linkname: outside },
        { name: 'tmp', type: 'symlink', linkname: outside },
      ]),
    ]);
    const rootfs = await unpackLayout(layout, join(work, 'bundle'), 'crafted', 60_000);
    await expectOutsideUntouched();
    // The image keeps its own link; the mount points it did not hijack are there.
    expect((await stat(join(rootfs, 'proc'))).isDirectory()).toBe(true);
  });

  it('a relative `etc -> ../../..` escape is resolved inside the rootfs too', async () => {
    const layout = join(work, 'layout');
    const up = '../'.repeat(20);
    await craftOciLayout(layout, [
      craftTar([
        { name: 'etc', type: 'symlink', linkname: `${up}${outside.slice(1)}` },
        { name: 'etc/evil', type: 'file', body: 'owned\n' },
      ]),
    ]);
    await unpackLayout(layout, join(work, 'bundle'), 'crafted', 60_000);
    await expectOutsideUntouched();
  });

  it('hard links and whiteouts that name host files leave them alone', async () => {
    const layout = join(work, 'layout');
    await mkdir(layout);
    await craftOciLayout(layout, [
      craftTar([
        { name: 'd', type: 'symlink', linkname: outside },
        { name: 'x', type: 'file', body: 'x' },
      ]),
      craftTar([
        { name: 'd/.wh.victim', type: 'file' },
        { name: 'hl', type: 'hardlink', linkname: join(outside, 'secret') },
      ]),
    ]);
    // umoci may refuse the link (its target is not in the image): either way nothing outside moves.
    await unpackLayout(layout, join(work, 'bundle'), 'crafted', 60_000).catch((e: Error) => {
      expect(e.message).toContain('Unpacking crafted failed');
    });
    await expectOutsideUntouched();
  });
});
