import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { END_OF_ARCHIVE, memberHeader, padding, readMembers, TarError } from './tar.ts';

const run = promisify(execFile);
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vm-tar-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function archive(members: [string, Buffer][]): Buffer {
  return Buffer.concat([
    ...members.flatMap(([p, b]) => [memberHeader(p, b.length), b, padding(b.length)]),
    END_OF_ARCHIVE,
  ]);
}

/** Chunks of awkward sizes, as a network delivers them. */
async function* chunked(b: Buffer, size = 777): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

async function readAll(source: AsyncIterable<Buffer>) {
  const out: { path: string; body: Buffer }[] = [];
  for await (const m of readMembers(source)) {
    const parts: Buffer[] = [];
    for await (const c of m.body) parts.push(c);
    out.push({ path: m.path, body: Buffer.concat(parts) });
  }
  return out;
}

describe('VM archive tar', () => {
  it('reads back what it writes, member by member, from any chunking', async () => {
    const a = Buffer.from('{"x":1}\n');
    const b = Buffer.alloc(5000, 7);
    const empty = Buffer.alloc(0);
    const got = await readAll(
      chunked(
        archive([
          ['manifest.json', a],
          ['disk.hsparse', b],
          ['empty', empty],
        ]),
      ),
    );
    expect(got.map((m) => m.path)).toEqual(['manifest.json', 'disk.hsparse', 'empty']);
    expect(got[0]!.body.equals(a)).toBe(true);
    expect(got[1]!.body.equals(b)).toBe(true);
    expect(got[2]!.body.length).toBe(0);
  });

  it('is read by GNU tar, and reads what GNU tar writes (long names through its extension headers)', async () => {
    const file = join(dir, 'ours.tar');
    await writeFile(file, archive([['manifest.json', Buffer.from('hello')]]));
    const { stdout } = await run('tar', ['-xOf', file, 'manifest.json']);
    expect(stdout).toBe('hello');

    const src = join(dir, 'src');
    const long = `${'d'.repeat(120)}/${'f'.repeat(120)}.img`;
    await mkdir(join(src, 'd'.repeat(120)), { recursive: true });
    await writeFile(join(src, long), 'long');
    await writeFile(join(src, 'manifest.json'), 'm');
    for (const format of ['gnu', 'pax']) {
      const t = join(dir, `${format}.tar`);
      await run('tar', ['-cf', t, `--format=${format}`, '-C', src, 'manifest.json', long]);
      const got = await readAll(createReadStream(t) as AsyncIterable<Buffer>);
      expect(got.map((m) => [m.path, m.body.toString()])).toEqual([
        ['manifest.json', 'm'],
        [long, 'long'],
      ]);
    }
  });

  it('refuses a damaged header and an archive cut short', async () => {
    const good = archive([['manifest.json', Buffer.alloc(2000, 1)]]);
    const bad = Buffer.from(good);
    bad[10] = bad[10]! ^ 0xff;
    await expect(readAll(chunked(bad))).rejects.toBeInstanceOf(TarError);
    await expect(readAll(chunked(good.subarray(0, 1500)))).rejects.toThrow(/ends/);
  });
});
