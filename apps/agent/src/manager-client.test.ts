import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ManagerCallError, ManagerClient, managerUrls } from './manager-client.ts';

/** A stand-in manager replica answering heartbeats with `status`, counting what it got. */
async function replica(status: number): Promise<{ url: string; hits: () => number; server: Server }> {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    req.resume();
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(status === 200 ? { ok: true } : { error: { code: 'INTERNAL', message: 'no' } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits, server };
}

const inventory = {} as never;
const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

describe('the agent’s manager client with several replicas', () => {
  it('reads repeated and comma-separated URLs', () => {
    expect(managerUrls('http://a:1, http://b:2,http://a:1')).toEqual(['http://a:1', 'http://b:2']);
    expect(managerUrls(['http://a:1', 'http://b:2 http://c:3'])).toEqual([
      'http://a:1',
      'http://b:2',
      'http://c:3',
    ]);
  });

  it('moves on to the next replica when one is gone or unavailable, and stays with the one that answered', async () => {
    const dead = await replica(200);
    dead.server.close();
    await new Promise((r) => dead.server.once('close', r));
    const busy = await replica(503);
    const good = await replica(200);
    servers.push(busy.server, good.server);
    const client = new ManagerClient(`${dead.url},${busy.url},${good.url}`, 'token');
    await client.heartbeat('host_1', inventory, []);
    expect(client.baseUrl).toBe(good.url);
    expect([busy.hits(), good.hits()]).toEqual([1, 1]);
    // The next call goes straight to the replica that answered.
    await client.heartbeat('host_1', inventory, []);
    expect([busy.hits(), good.hits()]).toEqual([1, 2]);
  });

  it('does not fail over on a refusal (a 4xx is every replica’s answer)', async () => {
    const refusing = await replica(401);
    const other = await replica(200);
    servers.push(refusing.server, other.server);
    const client = new ManagerClient([refusing.url, other.url], 'token');
    await expect(client.heartbeat('host_1', inventory, [])).rejects.toBeInstanceOf(ManagerCallError);
    expect(other.hits()).toBe(0);
  });
});
