import { existsSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImportAllowList } from './egress-guard.ts';
import { EgressProxy } from './egress-proxy.ts';

async function listen(name: string, hits: string[]) {
  const srv: Server = createServer((req, res) => {
    hits.push(`${name} ${req.url}`);
    res.writeHead(200).end(`${name} answered ${req.url}`);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => srv.close(() => r())),
  };
}

/** Sends raw bytes over the proxy's unix socket; resolves with everything read until it closes. */
function rawExchange(socketPath: string, text: string, then?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(socketPath);
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString();
      if (then && got.includes('\r\n\r\n') && got.startsWith('HTTP/1.1 200')) {
        s.write(then);
        then = undefined;
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve(got));
    s.write(text);
  });
}

function proxiedGet(socketPath: string, url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: url, headers: { host: new URL(url).host } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the import egress proxy', () => {
  const hits: string[] = [];
  let allowed: Awaited<ReturnType<typeof listen>>;
  let secret: Awaited<ReturnType<typeof listen>>;
  let proxy: EgressProxy;
  beforeAll(async () => {
    allowed = await listen('allowed', hits);
    secret = await listen('secret', hits);
    proxy = await EgressProxy.start(new ImportAllowList([`127.0.0.1:${allowed.port}`]), 'Importing x');
  });
  afterAll(async () => {
    await proxy?.dispose();
    await allowed?.close();
    await secret?.close();
  });

  it('tunnels a CONNECT to an allowed destination', async () => {
    const got = await rawExchange(
      proxy.socketPath,
      `CONNECT 127.0.0.1:${allowed.port} HTTP/1.1\r\n\r\n`,
      'GET /tunnelled HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    expect(got).toMatch(/^HTTP\/1\.1 200 Connection Established/);
    expect(got).toContain('allowed answered /tunnelled');
  });

  it('forwards an absolute-URI request to an allowed destination', async () => {
    const r = await proxiedGet(proxy.socketPath, `http://127.0.0.1:${allowed.port}/plain?q=1`);
    expect(r).toEqual({ status: 200, body: 'allowed answered /plain?q=1' });
  });

  it('refuses other loopback destinations, by address or by name, and keeps the first refusal', async () => {
    const tunnel = await rawExchange(proxy.socketPath, `CONNECT 127.0.0.1:${secret.port} HTTP/1.1\r\n\r\n`);
    expect(tunnel).toMatch(/^HTTP\/1\.1 403/);
    const plain = await proxiedGet(proxy.socketPath, `http://localhost:${secret.port}/`);
    expect(plain.status).toBe(403);
    expect(proxy.refusal).toMatchObject({
      code: 'IMAGE_SOURCE_ADDRESS_REFUSED',
      message: expect.stringContaining('127.0.0.1 is a loopback address'),
    });
    expect(hits.filter((h) => h.startsWith('secret'))).toEqual([]);
  });

  it('records a destination that refuses the connection in the words the error mapping reads', async () => {
    const down = await EgressProxy.start(new ImportAllowList(['127.0.0.0/8']), 'Importing y');
    try {
      await secret.close();
      const got = await rawExchange(down.socketPath, `CONNECT 127.0.0.1:${secret.port} HTTP/1.1\r\n\r\n`);
      expect(got).toMatch(/^HTTP\/1\.1 502/);
      expect(down.failures).toEqual([`dial tcp 127.0.0.1:${secret.port}: connect: connection refused`]);
      expect(down.refusal).toBeNull();
    } finally {
      await down.dispose();
    }
  });

  it('dispose is idempotent and removes its socket directory', async () => {
    const p = await EgressProxy.start(new ImportAllowList([]), 'Importing z');
    await p.dispose();
    await p.dispose();
    expect(existsSync(dirname(p.socketPath))).toBe(false);
  });
});
