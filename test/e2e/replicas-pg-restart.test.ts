import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { StreamEvent } from '@hearth/contract';
import type { HearthClient } from '@hearth/sdk';
import { startPgServer, type PgServer } from '../helpers/pg-server.ts';
import { startReplicas, type ReplicaCluster } from '../helpers/replicas.ts';
import { sseReader } from '../helpers/sse.ts';
import { until } from '../helpers/vm.ts';

// Two real `hearth manager` replicas and a real agent on a PostgreSQL server of this file's own
// (the suite's shared server serves other files meanwhile), which the test restarts: every session
// is terminated, as in a failover to a new primary (docs/replicas.md, "Across a PostgreSQL
// failover"). No VM boots: VMs are created with `start: false`, which is all the database work.
const havePg = await startPgServer();

async function leaseRow(url: string): Promise<{ holder: string; valid: boolean; expiresAt: number } | null> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ holder: string; valid: boolean; expires_at: Date }>(
      `SELECT holder, expires_at > now() AS valid, expires_at FROM manager_leases WHERE name = 'leader'`,
    );
    const row = r.rows[0];
    return row ? { holder: row.holder, valid: row.valid, expiresAt: row.expires_at.getTime() } : null;
  } finally {
    await c.end();
  }
}

(havePg ? describe : describe.skip)('replicated managers across a PostgreSQL restart', () => {
  const server = havePg as PgServer;
  let c: ReplicaCluster;
  let a: HearthClient;
  let b: HearthClient;

  beforeAll(async () => {
    c = await startReplicas(server.url, { leaseMs: 3000 });
    a = await c.replicas[0]!.client();
    b = await c.replicas[1]!.client();
    await c.startAgent(`pgr-${c.net.bridge}`);
  }, 300_000);
  afterAll(async () => {
    await c?.dispose().catch(() => undefined);
    await server?.dispose();
  }, 120_000);

  it('both replicas survive, serve again, re-listen for other replicas’ changes (telling streams to refetch), and one leads', async () => {
    const stream = sseReader(await fetch(await b.connectUrl('eventStream')));
    const seenVm = (name: string) => (e: StreamEvent) => e.type === 'vm' && e.vm.name === name;
    await a.call('createVm', { body: { name: 'pre', start: false } });
    await stream.read(() => stream.seen.some(seenVm('pre')));
    const before = await leaseRow(c.databaseUrl);
    expect(before?.valid).toBe(true);

    const restartedAt = Date.now();
    await server.restart();
    console.log(`PostgreSQL restarted in ${Date.now() - restartedAt} ms`);

    // Requests work again through both replicas (their pools open new connections); neither
    // process may have ended meanwhile.
    const alive = () => {
      for (const r of c.replicas) {
        const p = r.proc!.child;
        if (p.exitCode !== null || p.signalCode !== null)
          throw new Error(
            `replica ${r.name} exited (${p.exitCode ?? p.signalCode}): ${r.proc!.output().slice(-2000)}`,
          );
      }
    };
    const tries = { a: 0, b: 0 };
    await until(
      'a create through A',
      () =>
        (alive(), a.call('createVm', { body: { name: 'post-a', start: false } })).then(
          () => true,
          // A try that was recorded although its answer was lost counts as done.
          (e: { code?: string }) => e.code === 'VM_NAME_TAKEN' || (tries.a++, false),
        ),
      60_000,
    );
    await until(
      'a create through B',
      () =>
        (alive(), b.call('createVm', { body: { name: 'post-b', start: false } })).then(
          () => true,
          // A try that was recorded although its answer was lost counts as done.
          (e: { code?: string }) => e.code === 'VM_NAME_TAKEN' || (tries.b++, false),
        ),
      60_000,
    );
    console.log(`failed tries before the first answer: A ${tries.a}, B ${tries.b}`);
    alive();

    // B's listening connection came back: its open stream is told to refetch (changes while it was
    // down are lost), then hears A's changes again.
    await c.replicas[1]!.proc!.waitFor('the listening connection to PostgreSQL came back', 60_000);
    await stream.read(() => stream.seen.some((e) => e.type === 'reset'));
    expect(stream.seen.some((e) => e.type === 'reset')).toBe(true);
    await a.call('createVm', { body: { name: 'after', start: false } });
    await stream.read(() => stream.seen.some(seenVm('after')));
    await stream.cancel();
    expect(stream.seen.some(seenVm('after'))).toBe(true);

    // One replica holds the lease again and keeps renewing it.
    await until(
      'a renewed lease',
      async () => {
        const row = await leaseRow(c.databaseUrl).catch(() => null);
        return !!row?.valid && row.expiresAt > restartedAt + 3000;
      },
      60_000,
    );
    const first = await leaseRow(c.databaseUrl);
    await until(
      'the lease renewed once more',
      async () => (await leaseRow(c.databaseUrl))!.expiresAt > first!.expiresAt,
      30_000,
    );
    const replicaIds = await Promise.all(
      c.replicas.map((r) => readFile(join(r.dir, 'manager', 'replica.id'), 'utf8')),
    );
    expect(replicaIds.map((s) => s.trim())).toContain(first!.holder);

    // The agent's heartbeats reach a replica again.
    await until(
      'a heartbeat after the restart',
      async () =>
        (await b.all('listHosts')).some(
          (h) => Date.parse(h.lastHeartbeatAt) > restartedAt + 1000 && h.state === 'ready',
        ),
      60_000,
    );
    const names = (await a.all('listVms')).map((v) => v.name).sort();
    expect(names).toEqual(['after', 'post-a', 'post-b', 'pre']);
  }, 400_000);

  it('answers DATABASE_UNAVAILABLE (503, Retry-After) while PostgreSQL is down, never a 500', async () => {
    server.stop();
    try {
      for (const r of c.replicas) {
        const token = (await readFile(join(r.dir, 'admin.token'), 'utf8')).trim();
        const res = await fetch(`${r.url}/v1/vms`, { headers: { authorization: `Bearer ${token}` } });
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toBeTruthy();
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('DATABASE_UNAVAILABLE');
      }
    } finally {
      server.start();
    }
    await until(
      'an answer once it is back',
      () =>
        a.all('listVms').then(
          () => true,
          () => false,
        ),
      60_000,
    );
  }, 200_000);
});
