import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HearthError } from '@hearth/contract';
import { HostLiveness } from './host-liveness.ts';
import { AgentClient } from './agent-client.ts';

const target = (url: string) => ({ id: 'host_1', url, callback_token: 't'.repeat(32) });

describe('HostLiveness', () => {
  it('trusts a host only once its agent spoke, and waits for it when it is away', async () => {
    const live = new HostLiveness();
    expect(live.isLive('host_1')).toBe(false);
    const waiting = live.wait('host_1', 60_000);
    live.seen(target('http://127.0.0.1:1'));
    expect(await waiting).toMatchObject({ url: 'http://127.0.0.1:1' });
    live.lost('host_1');
    expect(live.isLive('host_1')).toBe(false);
    expect(await live.wait('host_1', 0)).toBeNull();
  });

  it('answers a host that stays away with a retryable HOST_UNAVAILABLE', async () => {
    const live = new HostLiveness();
    const e = await live.require(target('http://127.0.0.1:1'), 0, 'Stopping VM "a"').catch((x) => x);
    expect(e).toBeInstanceOf(HearthError);
    expect(e).toMatchObject({ code: 'HOST_UNAVAILABLE', status: 503, retryAfterS: 5 });
    expect(e.message).toMatch(/^Stopping VM "a" failed: /);
  });

  it('wakes waiters with "not back" on dispose', async () => {
    const live = new HostLiveness();
    const waiting = live.wait('host_1', 60_000);
    live.dispose();
    expect(await waiting).toBeNull();
  });
});

describe('AgentClient across an agent restart', () => {
  let server: Server;
  let url = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      // What Fastify answers on a connection it is closing: 503, no catalogue code.
      if (req.method === 'DELETE') return void res.writeHead(503).end('{"error":"Service Unavailable"}');
      res.end(JSON.stringify({ ok: true }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => server.close());

  it('never calls an address it has not heard from this process, and follows the new one', async () => {
    const live = new HostLiveness();
    const agents = new AgentClient(live, 60_000);
    // The record still has the old address of an agent that restarted elsewhere.
    const stale = target('http://127.0.0.1:1');
    const call = agents.call(stale, 'vmStatus', { params: { id: 'a' } });
    // The restarted agent registers with its new address: the waiting call goes there.
    live.seen(target(url));
    expect(await call).toEqual({ ok: true });
  });

  it('retries a refused connection once the agent is back, else answers HOST_UNAVAILABLE', async () => {
    const live = new HostLiveness();
    const agents = new AgentClient(live, 0);
    // Nothing listens there: refused, and the host is not back within the (zero) wait.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    live.seen(target(`http://127.0.0.1:${port}`));
    const e = await agents.stop(target('http://127.0.0.1:1'), 'a', false, 0).catch((x) => x);
    expect(e).toMatchObject({ code: 'HOST_UNAVAILABLE', status: 503 });
    expect(live.isLive('host_1')).toBe(false);
  });

  it('takes a 503 from an agent that is shutting down as "away", not as a failure of the VM', async () => {
    const live = new HostLiveness();
    const agents = new AgentClient(live, 0);
    live.seen(target(url));
    const e = await agents.delete(target(url), 'a').catch((x) => x);
    expect(e).toMatchObject({ code: 'HOST_UNAVAILABLE', status: 503, retryAfterS: 5 });
    expect(live.isLive('host_1')).toBe(false);
  });
});
