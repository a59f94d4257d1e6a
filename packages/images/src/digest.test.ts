import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cachedSha256 } from './digest.ts';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('cachedSha256', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('hashes once per file version: the note answers until the file changes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-digest-'));
    dirs.push(dir);
    const file = join(dir, 'rootfs.ext4');
    await writeFile(file, 'first');
    expect(await cachedSha256(file)).toBe(sha('first'));
    const note = JSON.parse(await readFile(`${file}.sha256`, 'utf8')) as { id: string; sha256: string };
    expect(note.sha256).toBe(sha('first'));

    // A note for this very size, mtime and inode is believed without reading the file.
    const planted = 'a'.repeat(64);
    await writeFile(`${file}.sha256`, JSON.stringify({ id: note.id, sha256: planted }));
    expect(await cachedSha256(file)).toBe(planted);

    // Rewritten in place (same size, new mtime): hashed again, and the note follows.
    await writeFile(file, 'again');
    await utimes(file, new Date(), new Date(Date.now() + 5000));
    expect(await cachedSha256(file)).toBe(sha('again'));
    expect((JSON.parse(await readFile(`${file}.sha256`, 'utf8')) as { sha256: string }).sha256).toBe(
      sha('again'),
    );

    // A note that is not one is ignored.
    await writeFile(`${file}.sha256`, 'not json');
    expect(await cachedSha256(file)).toBe(sha('again'));
  });
});
