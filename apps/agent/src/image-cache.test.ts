import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

// Counts the hashes made of the manager's file: the point is that a restart does not make one.
const hashed = vi.hoisted(() => ({ files: [] as string[] }));
vi.mock('@hearth/images', async (orig) => {
  const real = await orig<typeof import('@hearth/images')>();
  return {
    ...real,
    sha256File: (path: string) => {
      hashed.files.push(path);
      return real.sha256File(path);
    },
  };
});
const { ImageCache } = await import('./image-cache.ts');

let dir: string;
let image: string;
let sha256: string;
const noFetch = () => Promise.reject(new Error('no fetch expected'));
const cacheIn = (d: string) => new ImageCache({ dir: d, fetchContent: noFetch });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-imgcache-'));
  image = join(dir, 'rootfs.ext4');
  const body = Buffer.from('an image the manager holds on this host');
  await writeFile(image, body);
  sha256 = createHash('sha256').update(body).digest('hex');
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  hashed.files = [];
});

describe('ImageCache: the manager’s file used in place once verified', () => {
  it('hashes it once, and a new agent process (a restart) trusts the answer without hashing again', async () => {
    const cacheDir = join(dir, 'restart');
    const first = cacheIn(cacheDir);
    expect(await first.local({ id: 'img_1', path: image, sha256 })).toBe(image);
    expect(await first.local({ id: 'img_1', path: image, sha256 })).toBe(image);
    expect(hashed.files).toEqual([image]);
    await first.flushed();
    const again = cacheIn(cacheDir);
    expect(await again.local({ id: 'img_1', path: image, sha256 })).toBe(image);
    expect(hashed.files).toEqual([image]);
  });

  it('hashes a file changed in place again (its ctime moved), and refuses it when the digest differs', async () => {
    const cacheDir = join(dir, 'changed');
    // A whole second, so the mtime can be put back exactly after the change.
    await utimes(image, 1_700_000_000, 1_700_000_000);
    const first = cacheIn(cacheDir);
    expect(await first.local({ id: 'img_1', path: image, sha256 })).toBe(image);
    await first.flushed();
    const before = await stat(image);
    const body = await readFile(image);
    body[0] = body[0]! ^ 1;
    await writeFile(image, body);
    // Same size, mtime put back, same inode: only the ctime tells.
    await utimes(image, 1_700_000_000, 1_700_000_000);
    const after = await stat(image);
    expect([after.size, after.mtimeMs, after.ino]).toEqual([before.size, before.mtimeMs, before.ino]);
    const again = cacheIn(cacheDir);
    // Not the same file any more: fetched from the manager instead, which this test refuses.
    await expect(again.local({ id: 'img_1', path: image, sha256 })).rejects.toThrow('no fetch expected');
    expect(hashed.files).toEqual([image, image]);
  });

  it('a torn answers file is ignored: the image is hashed again', async () => {
    const cacheDir = join(dir, 'torn');
    await mkdir(cacheDir, { recursive: true });
    await writeFile(join(cacheDir, 'verified.json'), '{"half');
    const body = Buffer.from('another image');
    const other = join(dir, 'other.ext4');
    await writeFile(other, body);
    const sha = createHash('sha256').update(body).digest('hex');
    expect(await cacheIn(cacheDir).local({ id: 'img_2', path: other, sha256: sha })).toBe(other);
    expect(hashed.files).toEqual([other]);
  });
});
