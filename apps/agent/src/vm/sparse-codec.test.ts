import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeSparse, describeSparse, encodeChecked, encodeSparse, EXTENT_HEADER } from './sparse-codec.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sparse-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const MiB = 2 ** 20;

/** A 64 MiB sparse file with data at its start, in the middle (unaligned) and at its very end. */
async function disk(path: string): Promise<Buffer[]> {
  const parts = [randomBytes(5000), randomBytes(200_000), randomBytes(10)];
  const fh = await open(path, 'w');
  await fh.truncate(64 * MiB);
  await fh.write(parts[0]!, 0, parts[0]!.length, 0);
  await fh.write(parts[1]!, 0, parts[1]!.length, 30 * MiB + 123);
  await fh.write(parts[2]!, 0, parts[2]!.length, 64 * MiB - 10);
  await fh.close();
  return parts;
}

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of it) out.push(c);
  return Buffer.concat(out);
}

describe('hearth-sparse-1', () => {
  it('round-trips a sparse file, storing only its written blocks', async () => {
    const src = join(dir, 'src.raw');
    await disk(src);
    const info = await describeSparse(src);
    expect(info.sizeBytes).toBe(64 * MiB);
    // Three areas of data, each rounded out to 64 KiB blocks: far below the file's size.
    expect(info.encodedBytes).toBeLessThan(MiB);
    const encoded = await collect(encodeSparse(src));
    expect(encoded.length).toBe(info.encodedBytes);
    expect(createHash('sha256').update(encoded).digest('hex')).toBe(info.sha256);

    const dst = join(dir, 'dst.raw');
    const got = await decodeSparse([encoded.subarray(0, 7), encoded.subarray(7)], dst, info.sizeBytes);
    expect(got).toEqual({ sha256: info.sha256, encodedBytes: info.encodedBytes });
    expect((await readFile(dst)).equals(await readFile(src))).toBe(true);
    // Holes stay holes: the copy uses about what was written, not 64 MiB.
    expect((await stat(dst)).blocks * 512).toBeLessThan(4 * MiB);
  });

  it('encodes an empty (all-zero) disk as nothing', async () => {
    const src = join(dir, 'zero.raw');
    await writeFile(src, Buffer.alloc(0));
    await truncate(src, 8 * MiB);
    expect((await describeSparse(src)).encodedBytes).toBe(0);
  });

  it('refuses an extent outside the disk or out of order, and a stream cut mid-extent', async () => {
    const h = (off: number, len: number) => {
      const b = Buffer.alloc(EXTENT_HEADER);
      b.writeBigUInt64BE(BigInt(off), 0);
      b.writeBigUInt64BE(BigInt(len), 8);
      return b;
    };
    await expect(decodeSparse([h(MiB - 2, 4), Buffer.alloc(4, 1)], join(dir, 'a'), MiB)).rejects.toThrow(
      /outside/,
    );
    await expect(
      decodeSparse([h(100, 4), Buffer.alloc(4, 1), h(50, 4), Buffer.alloc(4, 1)], join(dir, 'b'), MiB),
    ).rejects.toThrow(/out of order/);
    await expect(decodeSparse([h(0, 10), Buffer.alloc(4, 1)], join(dir, 'c'), MiB)).rejects.toThrow(
      /mid-extent/,
    );
  });

  it('fails the stream when the file changed since it was described', async () => {
    const src = join(dir, 'src.raw');
    await disk(src);
    const info = await describeSparse(src);
    const fh = await open(src, 'r+');
    await fh.write(Buffer.from('changed'), 0, 7, 40 * MiB);
    await fh.close();
    await expect(collect(encodeChecked(src, info))).rejects.toThrow(/changed while it was read/);
  });
});
