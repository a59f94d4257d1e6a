import { describe, expect, it } from 'vitest';
import { HearthError } from '@hearth/contract';
import { followImport, NdjsonSplitter, progressPercent, readNdjson } from './ndjson.ts';

const enc = new TextEncoder();
const streamOf = (...chunks: (string | Uint8Array)[]) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      for (const ch of chunks) c.enqueue(typeof ch === 'string' ? enc.encode(ch) : ch);
      c.close();
    },
  });

describe('NDJSON progress', () => {
  it('splits records across and within chunks, including cut multi-byte characters', () => {
    const s = new NdjsonSplitter();
    const bytes = enc.encode('{"m":"é"}\n');
    expect(s.push(enc.encode('{"a":1}\n{"b"'))).toEqual([{ a: 1 }]);
    expect(s.push(enc.encode(':2}\n\n'))).toEqual([{ b: 2 }]);
    // "é" is two bytes; cut between them.
    expect(s.push(bytes.slice(0, 7))).toEqual([]);
    expect(s.push(bytes.slice(7))).toEqual([{ m: 'é' }]);
    expect(s.push(enc.encode('{"last":true}'))).toEqual([]);
    expect(s.end()).toEqual([{ last: true }]);
  });

  it('reads a stream record by record', async () => {
    const got: unknown[] = [];
    await readNdjson(streamOf('{"n":1}\n{"n"', ':2}\n{"n":3}'), (r) => got.push(r));
    expect(got).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  it('follows an import: progress, then the image; errors throw with code and hint', async () => {
    const progress: unknown[] = [];
    const image = { id: 'img_1', name: 'alpine' };
    const done = await followImport(
      streamOf(
        '{"type":"progress","phase":"resolve","message":"alpine:3"}\n',
        '{"type":"progress","phase":"pull","message":"layer","bytes":5,"totalBytes":10}\n',
        JSON.stringify({ type: 'done', image, cached: false }) + '\n',
      ),
      (p) => progress.push(p),
    );
    expect(progress).toHaveLength(2);
    expect(done).toMatchObject({ image, cached: false });

    const err = await followImport(
      streamOf(
        '{"type":"progress","phase":"resolve","message":"x"}\n',
        '{"type":"error","error":{"code":"IMAGE_SOURCE_NOT_FOUND","message":"no such tag","hint":"check it"}}\n',
      ),
      () => undefined,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HearthError);
    expect(err).toMatchObject({ code: 'IMAGE_SOURCE_NOT_FOUND', message: 'no such tag', hint: 'check it' });

    await expect(
      followImport(streamOf('{"type":"progress","phase":"pull","message":"x"}\n'), () => undefined),
    ).rejects.toThrow(/ended without a result/);
  });

  it('percentages only when the total is known', () => {
    expect(progressPercent({ bytes: 5, totalBytes: 10 })).toBe(50);
    expect(progressPercent({ bytes: 5 })).toBeNull();
    expect(progressPercent({ bytes: 20, totalBytes: 10 })).toBe(100);
  });
});
