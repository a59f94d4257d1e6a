import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { PortStream, PortStreamError } from './port-stream.ts';

const servers: WebSocketServer[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A WebSocket server playing the manager's side of one port stream. */
async function serve(onSocket: (ws: WebSocket) => void): Promise<string> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  servers.push(wss);
  wss.on('connection', onSocket);
  await new Promise((r) => wss.once('listening', r));
  return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
}

async function until(fn: () => boolean): Promise<void> {
  while (!fn()) await new Promise((r) => setTimeout(r, 5));
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('PortStream', () => {
  it('carries bytes both ways; end() half-closes with an eof message and reading goes on', async () => {
    const texts: string[] = [];
    const url = await serve((ws) => {
      const got: Buffer[] = [];
      ws.send(JSON.stringify({ type: 'connected' }));
      ws.on('message', (d: Buffer, binary) => {
        if (binary) return void got.push(d);
        texts.push(d.toString());
        // The "server" answers after the client's half-close, then closes its side too.
        ws.send(Buffer.concat(got).reverse());
        ws.send(JSON.stringify({ type: 'eof' }));
        ws.close(1000, 'done');
      });
    });
    const s = new PortStream(new WebSocket(url));
    const connected = new Promise((r) => s.once('connected', r));
    s.write('abc');
    s.end('def');
    await connected;
    const chunks: Buffer[] = [];
    for await (const c of s) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('fedcba');
    expect(texts).toEqual(['{"type":"eof"}']);
  });

  it('stops reading the socket while its reader does not read (back-pressure), then delivers all', async () => {
    const data = randomBytes(8 * 1024 * 1024);
    let server!: WebSocket;
    const url = await serve((ws) => {
      server = ws;
      for (let i = 0; i < data.length; i += 64 * 1024) ws.send(data.subarray(i, i + 64 * 1024));
      ws.send(JSON.stringify({ type: 'eof' }));
    });
    const s = new PortStream(new WebSocket(url));
    s.pause();
    // The client stopped reading: the rest waits in the server's socket, not in this process.
    await until(() => server?.bufferedAmount > 2 * 1024 * 1024);
    expect(s.readableLength).toBeLessThan(2 * 1024 * 1024);
    const chunks: Buffer[] = [];
    s.resume();
    s.on('data', (c: Buffer) => chunks.push(c));
    await new Promise((r) => s.once('end', r));
    expect(sha(Buffer.concat(chunks))).toBe(sha(data));
    s.destroy();
  });

  it('fails with the code of an error message, and with RESET on a reset', async () => {
    const url = await serve((ws) => {
      ws.send(JSON.stringify({ type: 'error', code: 'GUEST_PORT_UNREACHABLE', message: 'nothing listens' }));
      ws.close(1011, 'error');
    });
    const s = new PortStream(new WebSocket(url));
    const err = await new Promise<Error>((r) => s.once('error', r));
    expect(err).toBeInstanceOf(PortStreamError);
    expect((err as PortStreamError).code).toBe('GUEST_PORT_UNREACHABLE');

    const url2 = await serve((ws) => ws.close(1000, 'reset'));
    const s2 = new PortStream(new WebSocket(url2));
    s2.resume();
    const err2 = await new Promise<Error>((r) => s2.once('error', r));
    expect((err2 as PortStreamError).code).toBe('RESET');
  });
});
