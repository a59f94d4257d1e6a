import { describe, expect, it, vi } from 'vitest';
import {
  encodeFrame,
  encodeWindow,
  FrameDecoder,
  FrameError,
  parseJsonPayload,
  windowIncrement,
} from './guest-codec.ts';
import { FrameType } from './guest-protocol.ts';

describe('guest frame codec', () => {
  it('round-trips frames split at every byte boundary', () => {
    const a = encodeFrame(0, FrameType.HELLO, { protocol: 1, secret: 's' });
    const b = encodeFrame(7, FrameType.STDOUT, Buffer.from([0, 1, 2, 255]));
    const all = Buffer.concat([a, b]);
    for (let cut = 0; cut <= all.length; cut++) {
      const d = new FrameDecoder();
      d.synced = true;
      const frames = [...d.push(all.subarray(0, cut)), ...d.push(all.subarray(cut))];
      expect(frames.map((f) => [f.stream, f.type])).toEqual([
        [0, FrameType.HELLO],
        [7, FrameType.STDOUT],
      ]);
      expect(parseJsonPayload(frames[0]!)).toEqual({ protocol: 1, secret: 's' });
      expect([...frames[1]!.payload]).toEqual([0, 1, 2, 255]);
    }
  });

  it('skips junk before the first frame until synced', () => {
    const d = new FrameDecoder();
    const junk = Buffer.from('HGxx\x00\x00\x00\x02garbage H');
    const frames = d.push(Buffer.concat([junk, encodeFrame(0, FrameType.WELCOME, { ok: 1 })]));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.type).toBe(FrameType.WELCOME);
    expect(d.skipped).toBeGreaterThan(0);
  });

  it('refuses oversized, unknown and magic-less frames once synced', () => {
    const mk = () => Object.assign(new FrameDecoder(1024), { synced: true });
    const big = Buffer.alloc(11);
    big.write('HG');
    big.writeUInt32BE(4096, 2);
    expect(() => mk().push(big)).toThrow(FrameError);
    const unknown = encodeFrame(1, FrameType.EVENT, '{}');
    unknown.writeUInt8(99, 10);
    expect(() => mk().push(unknown)).toThrow(/unknown frame type 99/);
    expect(() => mk().push(Buffer.from('XXXXXXXXXXXXXXX'))).toThrow(/magic/);
  });

  it('rejects JSON payloads that are not objects', () => {
    const f = { stream: 1, type: FrameType.RESULT, payload: Buffer.from('[1]') };
    expect(() => parseJsonPayload(f)).toThrow(FrameError);
    expect(() => parseJsonPayload({ ...f, payload: Buffer.from('{') })).toThrow(/invalid JSON/);
  });

  it('decodes in linear time: a big frame fed in small chunks is never re-joined per chunk', () => {
    const body = Buffer.alloc(1024 * 1024, 7);
    body.writeUInt32BE(0xdeadbeef, 0);
    const wire = Buffer.concat([
      encodeFrame(3, FrameType.STDOUT, body),
      encodeFrame(3, FrameType.STDERR, 'x'),
    ]);
    const d = new FrameDecoder();
    d.synced = true;
    const concat = vi.spyOn(Buffer, 'concat');
    const frames = [];
    try {
      for (let i = 0; i < wire.length; i += 1000) frames.push(...d.push(wire.subarray(i, i + 1000)));
      // The old decoder joined the whole buffer on every chunk: ~1000 concats, ~0.5 GiB copied.
      expect(concat).not.toHaveBeenCalled();
    } finally {
      concat.mockRestore();
    }
    expect(frames.map((f) => f.type)).toEqual([FrameType.STDOUT, FrameType.STDERR]);
    expect(frames[0]!.payload.equals(body)).toBe(true);
    expect(d.buffered).toBe(0);
  });

  it('keeps at most one partial frame buffered', () => {
    const d = new FrameDecoder();
    d.synced = true;
    const f = encodeFrame(1, FrameType.STDOUT, Buffer.alloc(5000, 1));
    expect(d.push(Buffer.concat([f, f.subarray(0, 100)]))).toHaveLength(1);
    expect(d.buffered).toBe(100);
  });

  it('encodes and reads WINDOW credit frames', () => {
    const d = new FrameDecoder();
    const [f] = d.push(encodeWindow(9, 2 * 1024 * 1024));
    expect(f!.type).toBe(FrameType.WINDOW);
    expect(f!.stream).toBe(9);
    expect(windowIncrement(f!)).toBe(2 * 1024 * 1024);
    expect(() => windowIncrement({ ...f!, payload: Buffer.alloc(3) })).toThrow(FrameError);
  });
});
