import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { onRefusedUpgrade } from './ws-refusal.ts';

describe('a refused WebSocket upgrade', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    // Answers upgrades as the manager does when it refuses one: a plain HTTP error.
    server = createServer((req, res) => {
      if (req.url === '/envelope') {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'VM_NOT_FOUND', message: 'No VM "x".' } }));
      } else {
        res.writeHead(502);
        res.end('bad gateway');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const refusal = (path: string) =>
    new Promise<Error>((resolve) => {
      const ws = new WebSocket(base + path);
      onRefusedUpgrade(ws, 'the stream', resolve);
    });

  it("is the catalogue's error when the answer carries one", async () => {
    expect(await refusal('/envelope')).toMatchObject({ code: 'VM_NOT_FOUND', message: 'No VM "x".' });
  });

  it('names the status and the text otherwise', async () => {
    expect((await refusal('/other')).message).toBe('Opening the stream failed with HTTP 502: bad gateway');
  });
});
