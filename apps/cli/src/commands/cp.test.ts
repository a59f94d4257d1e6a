import { lstat, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HearthClient } from '@hearth/sdk';
import { craftTar } from '../../../../test/helpers/tar-craft.ts';
import { download, extractTar } from './cp.ts';

// `hearth cp vm:/x dst`: what comes back is written by the guest, which is untrusted.
describe('cp from a guest', () => {
  let work: string;
  let dest: string;
  let outside: string;

  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'hearth-cp-'));
    dest = join(work, 'dest');
    outside = await mkdtemp(join(tmpdir(), 'hearth-cp-outside-'));
    await writeFile(join(outside, 'secret'), 'host data\n');
  });
  afterEach(async () => {
    await rm(work, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  const expectOutsideUntouched = async () => {
    expect(await readdir(outside)).toEqual(['secret']);
    expect(await readFile(join(outside, 'secret'), 'utf8')).toBe('host data\n');
    expect((await stat(join(outside, 'secret'))).nlink).toBe(1);
  };

  const hostile = () =>
    craftTar([
      { name: 'ok.txt', type: 'file', body: 'fine\n', mode: 0o6755, uid: 4242, gid: 4242 },
      { name: 'sub', type: 'dir', mode: 0o3777, uid: 4242 },
      { name: 'link', type: 'symlink', linkname: outside },
      { name: 'link/evil', type: 'file', body: 'owned\n' },
      { name: `${outside}/abs`, type: 'file', body: 'owned\n' },
      { name: `../${outside.split('/').pop()}/dotdot`, type: 'file', body: 'owned\n' },
      { name: 'hard', type: 'hardlink', linkname: join(outside, 'secret') },
      { name: 'hard2', type: 'hardlink', linkname: `../../../../${outside.slice(1)}/secret` },
    ]);

  it('a crafted archive writes nothing outside the destination, keeps no owner and no setuid bit', async () => {
    await rm(dest, { force: true, recursive: true });
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dest);
    // Refused entries fail the copy; the ones before them were written inside dest.
    await pipeline(Readable.from([hostile()]), extractTar(dest)).catch(() => undefined);
    await expectOutsideUntouched();
    const ok = await lstat(join(dest, 'ok.txt'));
    expect(await readFile(join(dest, 'ok.txt'), 'utf8')).toBe('fine\n');
    expect(ok.mode & 0o7000).toBe(0);
    expect(ok.uid).toBe(process.getuid!());
    const sub = await lstat(join(dest, 'sub'));
    expect(sub.mode & 0o7000).toBe(0);
    expect(sub.uid).toBe(process.getuid!());
  });

  it('the client asks for the format: a file stays one file whatever the reply claims', async () => {
    const tarBytes = hostile();
    const asked: string[] = [];
    // A manager relaying a guest that answers a raw read with a tar archive and says so.
    const fetchFake = async (input: URL | RequestInfo) => {
      const url = new URL(String(input));
      asked.push(`${url.pathname}?${url.searchParams.toString()}`);
      if (url.pathname.endsWith('/files/stat')) {
        return Response.json({ path: '/x', name: 'x', type: 'file', size: 1, mode: 0o644, mtime: '' });
      }
      return new Response(new Uint8Array(tarBytes), {
        headers: { 'content-type': 'application/x-tar', 'x-hearth-file-kind': 'tar' },
      });
    };
    const c = new HearthClient({
      baseUrl: 'http://manager.invalid',
      token: 't',
      fetch: fetchFake as typeof fetch,
    });
    const file = join(work, 'copy');
    await download(c, 'vm1', '/x', file);
    expect(asked.find((a) => a.includes('/files?'))).toContain('format=raw');
    // The archive's bytes, as one file: nothing unpacked anywhere.
    expect(Buffer.compare(await readFile(file), tarBytes)).toBe(0);
    await expectOutsideUntouched();
  });
});
