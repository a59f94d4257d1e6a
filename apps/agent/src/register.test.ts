import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ManagerCallError, ManagerClient } from './manager-client.ts';
import { register } from './register.ts';

/** A stand-in manager answering registrations with the statuses given, in turn (then the last). */
async function manager(statuses: number[]): Promise<{ url: string; hits: () => number; server: Server }> {
  let hits = 0;
  const server = createServer((req, res) => {
    const status = statuses[Math.min(hits++, statuses.length - 1)]!;
    req.resume();
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify(
        status === 200
          ? { host: { id: 'host_1' }, agentToken: 'agent-token' }
          : { error: { code: status === 503 ? 'DATABASE_UNAVAILABLE' : 'UNAUTHENTICATED', message: 'no' } },
      ),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits, server };
}

const log = pino({ level: 'silent' });
const body = {} as never;
const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

describe('registering with the manager', () => {
  it('waits out a manager that answers 503 (up, its database away) and registers once it can', async () => {
    const m = await manager([503, 503, 200]);
    servers.push(m.server);
    const reg = await register(new ManagerClient(m.url, ''), { callbackToken: 'cb' }, 'join', body, log);
    expect(reg.host.id).toBe('host_1');
    expect(m.hits()).toBe(3);
  });

  it('gives up at once on a refusal', async () => {
    const m = await manager([401]);
    servers.push(m.server);
    const err = await register(
      new ManagerClient(m.url, ''),
      { callbackToken: 'cb' },
      'join',
      body,
      log,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ManagerCallError);
    expect(m.hits()).toBe(1);
  });
});
