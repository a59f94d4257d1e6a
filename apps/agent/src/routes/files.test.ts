import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { agentPath, errorCatalogue, FrameType } from '@hearth/contract';
import { encodeFrame } from '@hearth/contract/guest-codec';
import { buildAgentApp } from '../app.ts';
import type { Supervisor } from '../vm/index.ts';
import { connectToFake, fakeGuest } from '../guest/fake-guest.ts';

/**
 * Downloads whose guest side fails — an error result, no answer, a dropped channel before or
 * after the first byte, a client that leaves — each end that one request with a clear answer;
 * an unhandled stream error here would end the whole process (and this test run).
 */

const log = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'hearth-files-'));
const cancels = new Set<string>();
const byStream = new Map<number, string>();
const chunk = Buffer.alloc(64 * 1024, 0x61);

const guest = fakeGuest((sock: Socket, f) => {
  if (f.type === FrameType.CONTROL && f.json?.type === 'cancel') {
    const path = byStream.get(f.stream) ?? '?';
    cancels.add(path);
    sock.write(
      encodeFrame(f.stream, FrameType.RESULT, {
        ok: false,
        error: { code: 'BAD_REQUEST', message: 'cancelled' },
      }),
    );
    return;
  }
  if (f.type !== FrameType.REQUEST || f.json?.op !== 'fs.read') return;
  const path = String(f.json.path);
  byStream.set(f.stream, path);
  const meta = () => sock.write(encodeFrame(f.stream, FrameType.EVENT, { kind: 'file', size: 10 * 2 ** 20 }));
  switch (path) {
    case '/missing':
      sock.write(
        encodeFrame(f.stream, FrameType.RESULT, {
          ok: false,
          error: { code: 'NOT_FOUND', message: 'stat /missing: no such file or directory' },
        }),
      );
      return;
    case '/silent':
      return; // never answers
    case '/drop-early':
      sock.destroy();
      return;
    case '/drop-late':
      meta();
      sock.write(encodeFrame(f.stream, FrameType.STDOUT, chunk));
      setTimeout(() => sock.destroy(), 50);
      return;
    case '/slow':
      meta();
      sock.write(encodeFrame(f.stream, FrameType.STDOUT, chunk));
      return; // the rest never comes: only a cancel ends it
    case '/small':
      meta();
      sock.write(encodeFrame(f.stream, FrameType.STDOUT, 'hello\n'));
      sock.write(encodeFrame(f.stream, FrameType.RESULT, { ok: true }));
  }
});
const conn = connectToFake(guest.path, log);
const sup = {
  dataDir: dir,
  // As the supervisor does: wait (bounded) for a channel that is reconnecting.
  guest: async () => {
    await conn.connected(10_000);
    return conn;
  },
} as unknown as Supervisor;
const app = buildAgentApp({ supervisor: sup, callbackToken: 't', log, readTimeoutMs: 300 });
let base = '';
const get = (path: string, signal?: AbortSignal) =>
  fetch(`${base}${agentPath('downloadFile', { params: { id: 'vm1' }, query: { path } })}`, {
    headers: { authorization: 'Bearer t' },
    ...(signal ? { signal } : {}),
  });
async function whole(path: string): Promise<string> {
  const res = await get(path);
  expect(res.status).toBe(200);
  return res.text();
}

beforeAll(async () => {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address() as { port: number };
  base = `http://127.0.0.1:${addr.port}`;
});
afterAll(async () => {
  // A connection the client abandoned mid-response can hold close() until the server's own
  // timeouts; this test is not about shutdown.
  app.server.closeAllConnections();
  await app.close();
  conn.dispose();
  guest.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('file downloads whose guest side fails', () => {
  it("answers the guest's reason: a missing file is a 404 with its catalogue code", async () => {
    const res = await get('/missing');
    expect(res.status).toBe(404);
    expect((await res.json()).error).toMatchObject({
      code: 'GUEST_PATH_NOT_FOUND',
      message: 'Stat /missing: no such file or directory.',
      hint: errorCatalogue.GUEST_PATH_NOT_FOUND.hint,
    });
    expect(await whole('/small')).toBe('hello\n');
  });

  it('gives up on a guest that never describes the file, and tells it to stop', async () => {
    const res = await get('/silent');
    expect(res.status).toBe(504);
    expect((await res.json()).error.code).toBe('GUEST_AGENT_TIMEOUT');
    expect(cancels.has('/silent')).toBe(true);
    expect(await whole('/small')).toBe('hello\n');
  });

  it('answers an error when the guest channel drops before the first byte', async () => {
    const res = await get('/drop-early');
    expect(res.status).toBe(409);
    expect((await res.json()).error.code).toBe('GUEST_AGENT_UNAVAILABLE');
    // The next call waits for the channel to come back.
    expect(await whole('/small')).toBe('hello\n');
  });

  it('cuts the response short (never a complete-looking file) when the channel drops mid-file', async () => {
    const res = await get('/drop-late');
    expect(res.status).toBe(200);
    await expect(res.arrayBuffer()).rejects.toThrow();
    expect(await whole('/small')).toBe('hello\n');
  });

  it('cancels the guest read when the client leaves mid-download', async () => {
    const ac = new AbortController();
    const res = await get('/slow', ac.signal);
    const reader = res.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    ac.abort();
    while (!cancels.has('/slow')) await new Promise((r) => setTimeout(r, 10));
    expect(await whole('/small')).toBe('hello\n');
  });
});
