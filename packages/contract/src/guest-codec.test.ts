import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder, FrameError, parseJsonPayload } from './guest-codec.ts';
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
});
