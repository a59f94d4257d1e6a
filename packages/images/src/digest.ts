import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { sha256File } from './builtin.ts';

/**
 * The SHA-256 of a file in the build cache, remembered beside it (`<file>.sha256`) with the size,
 * mtime and inode it was computed for: every manager start registers the built-in kernels,
 * initrd and rootfs (about 130 MB together), and hashes them once per build instead of on every
 * start. A rebuilt or rewritten file has another mtime or inode and is hashed again; where the
 * note cannot be written (a read-only cache) the file is hashed each time.
 */
export async function cachedSha256(path: string): Promise<string> {
  const s = await stat(path);
  const id = `${s.size}:${s.mtimeMs}:${s.ino}`;
  const note = `${path}.sha256`;
  const known = await readFile(note, 'utf8')
    .then((t) => JSON.parse(t) as { id?: unknown; sha256?: unknown })
    .catch(() => null);
  if (known?.id === id && typeof known.sha256 === 'string' && /^[0-9a-f]{64}$/.test(known.sha256)) {
    return known.sha256;
  }
  const sha256 = await sha256File(path);
  // Written aside and renamed: a start reading it at the same moment sees the old note or the new.
  const tmp = `${note}.${process.pid}`;
  await writeFile(tmp, JSON.stringify({ id, sha256 }) + '\n')
    .then(() => rename(tmp, note))
    .catch(() => rm(tmp, { force: true }));
  return sha256;
}
