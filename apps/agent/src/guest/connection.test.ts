import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { FrameType } from '@hearth/contract';
import { encodeFrame } from '@hearth/contract/guest-codec';
import { connectToFake, fakeGuest } from './fake-guest.ts';

const log = pino({ level: 'silent' });
async function until(fn: () => boolean): Promise<void> {
  while (!fn()) await new Promise((r) => setTimeout(r, 10));
}
const disposers: Array<() => void> = [];
afterEach(() => {
  while (disposers.length) disposers.pop()!();
});

function connectTo(path: string, secret = 's3cret') {
  const conn = connectToFake(path, log, secret);
  disposers.push(() => conn.dispose());
  return conn;
}

describe('guest connection', () => {
  it('multiplexes request streams and returns results', async () => {
    const g = fakeGuest((sock, f) => {
      if (f.type !== FrameType.REQUEST) return;
      sock.write(encodeFrame(f.stream, FrameType.STDOUT, `out-${f.stream}`));
      sock.write(encodeFrame(f.stream, FrameType.RESULT, { ok: true, n: f.stream }));
    });
    disposers.push(() => g.close());
    const conn = connectTo(g.path);
    expect((await conn.ready()).agentVersion).toBe('test');
    const s = conn.open({ op: 'health' });
    const out: string[] = [];
    s.on('stdout', (b: Buffer) => out.push(b.toString()));
    const [a, b] = await Promise.all([s.wait(5000), conn.request({ op: 'info' })]);
    expect(a).toEqual({ n: 1 });
    expect(b).toEqual({ n: 2 });
    expect(out).toEqual(['out-1']);
  });

  it('drops a guest that breaks framing, fails its streams, and reconnects', async () => {
    let first = true;
    const g = fakeGuest((sock, f) => {
      if (f.type !== FrameType.REQUEST) return;
      if (first) {
        first = false;
        const bad = Buffer.alloc(11);
        bad.write('HG');
        bad.writeUInt32BE(0xffffffff, 2); // 4 GiB frame
        sock.write(bad);
        return;
      }
      sock.write(encodeFrame(f.stream, FrameType.RESULT, { ok: true }));
    });
    disposers.push(() => g.close());
    const conn = connectTo(g.path);
    await conn.ready();
    await expect(conn.request({ op: 'health' })).rejects.toMatchObject({ code: 'GUEST_DISCONNECTED' });
    await new Promise((r) => conn.once('ready', r));
    await expect(conn.request({ op: 'health' })).resolves.toEqual({});
    expect(g.connections).toBe(2);
  });

  it.each([
    [
      'invalid JSON in a result',
      (s: Socket, id: number) => s.write(encodeFrame(id, FrameType.RESULT, '{nope')),
    ],
    [
      'an unknown frame type',
      (s: Socket, id: number) => {
        const f = encodeFrame(id, FrameType.EVENT, '{}');
        f.writeUInt8(200, 10);
        s.write(f);
      },
    ],
    ['a host-only frame type', (s: Socket, id: number) => s.write(encodeFrame(id, FrameType.REQUEST, '{}'))],
    [
      'a result that is not an object',
      (s: Socket, id: number) => s.write(encodeFrame(id, FrameType.RESULT, '[]')),
    ],
  ])('survives %s', async (_name, misbehave) => {
    const g = fakeGuest((sock, f) => {
      if (f.type === FrameType.REQUEST) misbehave(sock, f.stream);
    });
    disposers.push(() => g.close());
    const conn = connectTo(g.path);
    await conn.ready();
    await expect(conn.request({ op: 'health' }, 5000)).rejects.toMatchObject({ code: 'GUEST_DISCONNECTED' });
  });

  it('does not leave writers waiting when a guest that stopped reading disconnects', async () => {
    let victim: Socket | null = null;
    const g = fakeGuest((sock, f) => {
      if (f.type !== FrameType.REQUEST) return;
      victim = sock;
      sock.pause(); // a guest whose reader is stuck: our writes back up
    });
    disposers.push(() => g.close());
    const conn = connectTo(g.path);
    await conn.ready();
    const s = conn.open({ op: 'fs.write', path: '/x' });
    await until(() => victim !== null);
    const writing = s.write(Buffer.alloc(16 * 1024 * 1024));
    setTimeout(() => victim!.destroy(), 200);
    await expect(writing).resolves.toBeUndefined();
    await expect(s.result).rejects.toMatchObject({ code: 'GUEST_DISCONNECTED' });
  });

  it('times out a guest that never answers instead of hanging', async () => {
    const g = fakeGuest(() => undefined);
    disposers.push(() => g.close());
    const conn = connectTo(g.path);
    await conn.ready();
    await expect(conn.request({ op: 'health' }, 300)).rejects.toMatchObject({ code: 'GUEST_TIMEOUT' });
  });

  it('reports a refused secret and never becomes ready', async () => {
    const g = fakeGuest(() => undefined);
    disposers.push(() => g.close());
    const conn = connectTo(g.path, 'wrong');
    const reason = await new Promise((r) => conn.once('refused', r));
    expect(reason).toBe('bad secret');
    expect(conn.info).toBeNull();
    expect(() => conn.open({ op: 'health' })).toThrow(/not connected/);
  });

  it('lets a call wait for a channel that is reconnecting, then serves it', async () => {
    const g = fakeGuest((sock, f) => {
      if (f.type === FrameType.REQUEST) sock.write(encodeFrame(f.stream, FrameType.RESULT, { ok: true }));
    });
    disposers.push(() => g.close());
    const conn = connectTo(g.path);
    await conn.ready();
    // The VMM resets the channel (Firecracker does on every snapshot): the session is gone.
    const down = new Promise((r) => conn.once('disconnected', r));
    g.dropAll();
    await down;
    expect(conn.info).toBeNull();
    expect(() => conn.open({ op: 'health' })).toThrow(/not connected/);
    await conn.connected(30_000);
    await expect(conn.request({ op: 'health' })).resolves.toEqual({});
    expect(g.connections).toBe(2);
  });

  it('fails a bounded wait with a retryable GUEST_RECONNECTING, and a disposed wait at once', async () => {
    const g = fakeGuest(() => undefined);
    disposers.push(() => g.close());
    const conn = connectTo(g.path, 'wrong'); // never gets a session
    await expect(conn.connected(200)).rejects.toMatchObject({ code: 'GUEST_RECONNECTING' });
    const waiting = conn.connected(60_000);
    conn.dispose();
    await expect(waiting).rejects.toMatchObject({ code: 'GUEST_DISCONNECTED' });
    await expect(conn.connected(60_000)).rejects.toMatchObject({ code: 'GUEST_DISCONNECTED' });
  });
});
