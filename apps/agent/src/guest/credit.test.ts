import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { DATA_CHUNK_BYTES, FrameType, STREAM_WINDOW_BYTES } from '@hearth/contract';
import { encodeFrame, encodeWindow } from '@hearth/contract/guest-codec';
import { connectToFake, fakeGuest } from './fake-guest.ts';

const log = pino({ level: 'silent' });
async function until(fn: () => boolean): Promise<void> {
  while (!fn()) await new Promise((r) => setTimeout(r, 10));
}
const disposers: Array<() => void> = [];
afterEach(() => {
  while (disposers.length) disposers.pop()!();
});

type Seen = { stream: number; type: number; payload: Buffer };

describe('per-stream credit on the guest connection', () => {
  it('offers credit in HELLO; holds a slow stream to its window while another completes', async () => {
    const seen: Seen[] = [];
    const credit = new Map<number, number>();
    let sent = 0;
    const pump = (sock: Socket, id: number) => {
      while ((credit.get(id) ?? 0) > 0) {
        const n = Math.min(DATA_CHUNK_BYTES, credit.get(id)!);
        credit.set(id, credit.get(id)! - n);
        sent += n;
        sock.write(encodeFrame(id, FrameType.STDOUT, Buffer.alloc(n, 0x79)));
      }
    };
    const g = fakeGuest(
      (sock, f) => {
        seen.push({ stream: f.stream, type: f.type, payload: f.payload });
        if (f.type === FrameType.WINDOW) {
          credit.set(f.stream, (credit.get(f.stream) ?? 0) + f.payload.readUInt32BE(0));
          pump(sock, f.stream);
        } else if (f.type === FrameType.REQUEST && f.json?.op === 'exec') {
          credit.set(f.stream, STREAM_WINDOW_BYTES);
          pump(sock, f.stream);
        } else if (f.type === FrameType.REQUEST) {
          sock.write(encodeFrame(f.stream, FrameType.RESULT, { ok: true }));
        }
      },
      ['credit'],
    );
    disposers.push(() => g.close());
    const conn = connectToFake(g.path, log);
    disposers.push(() => conn.dispose());
    await conn.ready();
    expect(g.hellos[0]).toMatchObject({ protocol: 1, features: ['credit'] });
    expect(conn.hasCredit).toBe(true);

    // A consumer that never moves anything on: the guest stops at the window.
    const slow = conn.open({ op: 'exec', command: 'yes' });
    slow.holdCredit();
    let got = 0;
    slow.on('stdout', (b: Buffer) => (got += b.length));
    await until(() => got === STREAM_WINDOW_BYTES);
    // Another stream on the same connection still completes.
    await expect(conn.request({ op: 'health' })).resolves.toEqual({});
    expect(seen.filter((f) => f.type === FrameType.WINDOW)).toHaveLength(0);
    expect(sent).toBe(STREAM_WINDOW_BYTES);
    expect(slow.bufferedBytes).toBe(STREAM_WINDOW_BYTES);
    expect(conn.bufferedBytes).toBeLessThanOrEqual(STREAM_WINDOW_BYTES + DATA_CHUNK_BYTES + 11);

    // Consuming gives credit back, in batches, and the guest sends that much more.
    slow.consumed(STREAM_WINDOW_BYTES);
    await until(() => got === 2 * STREAM_WINDOW_BYTES);
    const windows = seen.filter((f) => f.type === FrameType.WINDOW);
    expect(windows.reduce((n, f) => n + f.payload.readUInt32BE(0), 0)).toBe(STREAM_WINDOW_BYTES);

    // A consumer that goes away lets the rest flow and be dropped.
    slow.discard();
    await until(() => sent >= 4 * STREAM_WINDOW_BYTES);
    expect(slow.bufferedBytes).toBe(0);
  });

  it('drops a guest that sends past its credit', async () => {
    const g = fakeGuest(
      (sock, f) => {
        if (f.type !== FrameType.REQUEST) return;
        for (let i = 0; i <= STREAM_WINDOW_BYTES / DATA_CHUNK_BYTES; i++)
          sock.write(encodeFrame(f.stream, FrameType.STDOUT, Buffer.alloc(DATA_CHUNK_BYTES)));
      },
      ['credit'],
    );
    disposers.push(() => g.close());
    const conn = connectToFake(g.path, log);
    disposers.push(() => conn.dispose());
    await conn.ready();
    const s = conn.open({ op: 'exec', command: 'yes' });
    s.holdCredit();
    await expect(s.result).rejects.toMatchObject({ code: 'GUEST_DISCONNECTED' });
  });

  it('sends input only within the credit the guest grants', async () => {
    let stdin = 0;
    let guestSock: Socket | null = null;
    const g = fakeGuest(
      (sock, f) => {
        guestSock = sock;
        if (f.type === FrameType.STDIN) stdin += f.payload.length;
      },
      ['credit'],
    );
    disposers.push(() => g.close());
    const conn = connectToFake(g.path, log);
    disposers.push(() => conn.dispose());
    await conn.ready();
    const s = conn.open({ op: 'fs.write', path: '/x' });
    let written = false;
    const w = s.write(Buffer.alloc(STREAM_WINDOW_BYTES + 1000)).then(() => (written = true));
    await until(() => stdin === STREAM_WINDOW_BYTES);
    expect(written).toBe(false);
    guestSock!.write(encodeWindow(s.id, 1000));
    await w;
    await until(() => stdin === STREAM_WINDOW_BYTES + 1000);
  });

  it('keeps version-1 behaviour with a guest that does not speak credit', async () => {
    const seen: number[] = [];
    let stdin = 0;
    const g = fakeGuest((sock, f) => {
      seen.push(f.type);
      if (f.type === FrameType.STDIN) stdin += f.payload.length;
      if (f.type !== FrameType.REQUEST || f.json?.op !== 'exec') return;
      // An older guest sends as much as it likes.
      for (let i = 0; i < 12; i++)
        sock.write(encodeFrame(f.stream, FrameType.STDOUT, Buffer.alloc(DATA_CHUNK_BYTES)));
      sock.write(encodeFrame(f.stream, FrameType.RESULT, { ok: true }));
    });
    disposers.push(() => g.close());
    const conn = connectToFake(g.path, log);
    disposers.push(() => conn.dispose());
    await conn.ready();
    expect(conn.hasCredit).toBe(false);
    const s = conn.open({ op: 'exec', command: 'yes' });
    s.holdCredit();
    let got = 0;
    s.on('stdout', (b: Buffer) => {
      got += b.length;
      s.consumed(b.length);
    });
    await s.wait(5000);
    expect(got).toBe(12 * DATA_CHUNK_BYTES);
    // No credit to wait for: more than a window goes out without any grant.
    await conn.open({ op: 'fs.write', path: '/x' }).write(Buffer.alloc(3 * STREAM_WINDOW_BYTES));
    await until(() => stdin === 3 * STREAM_WINDOW_BYTES);
    expect(seen).not.toContain(FrameType.WINDOW);
    expect(g.hellos[0]).toMatchObject({ protocol: 1 });
  });
});
