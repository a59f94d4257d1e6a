import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vm } from '@hearth/contract';
import { guestSh } from '../helpers/netns.ts';
import { startProcCluster, type ProcCluster, type ProcHost } from '../helpers/ns-cluster-proc.ts';
import { pgSkipReason, testPgUrl } from '../helpers/pg.ts';
import { logsOnFailure } from '../helpers/failure-logs.ts';
import { cli } from '../helpers/proc.ts';
import { until } from '../helpers/vm.ts';
import { qemusOf } from '../helpers/qemu-procs.ts';

// What happens when the manager or an agent dies in the middle of a live move, and a drain's
// fallback (drain policy `stop`): two agents in network namespaces, the manager a real process
// on PostgreSQL that is killed -9 and started again. One VM serves all three cases (TCG boots are
// slow), in order: it stays on host A through the two interrupted moves, then the drain moves it.
let c: ProcCluster;
let a: ProcHost;
let b: ProcHost;
let vm: Vm;

const incoming = (id: string) => qemusOf(id).filter((q) => q.argv.includes('-incoming'));

/** Fences (copies a host must destroy) recorded for a host, read from the manager's database. */
async function fencesOn(hostId: string): Promise<number> {
  const db = new pg.Client({ connectionString: c.databaseUrl });
  await db.connect();
  try {
    const r = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM host_fences WHERE host_id = $1', [
      hostId,
    ]);
    return r.rows[0]!.n;
  } finally {
    await db.end();
  }
}

async function counted(): Promise<number> {
  const r = await guestSh(c.client, vm.id, 'tail -n 1 /root/count.log');
  return Number(r.stdout.trim());
}

/** The VM runs on A (once: a single QEMU, none waiting), its counter going on without a gap. */
async function expectRunsOnAOnly(): Promise<void> {
  await until(
    'the VM is running on A',
    async () => {
      const v = await c.client.call('getVm', { params: { id: vm.id } });
      return v.state === 'running' && v.host === a.id;
    },
    180_000,
  );
  const before = await counted();
  await until('the counter goes on', async () => (await counted()) > before + 3, 120_000);
  const lines = (await guestSh(c.client, vm.id, 'cat /root/count.log')).stdout.trim().split('\n');
  expect(lines.map(Number)).toEqual(lines.map((_, i) => i + 1));
  await until('no copy waits on B', () => incoming(vm.id).length === 0, 120_000);
  await until(
    'B has no run directory for it',
    () => !existsSync(join(b.dir, 'agent', 'vms', vm.id)),
    120_000,
  );
  expect(qemusOf(vm.id)).toHaveLength(1);
}

async function migrationEvents(): Promise<string[]> {
  const events = await c.client.call('vmEvents', { params: { id: vm.id }, query: { limit: 300 } });
  return events.items.filter((e) => e.type === 'migration').map((e) => e.reason ?? '');
}

/** Waits until B's QEMU for the VM waits for the incoming migration. */
async function destinationWaiting(): Promise<void> {
  await until('the destination QEMU waits for the VM', () => incoming(vm.id).length > 0, 180_000);
}

const skip = pgSkipReason();

describe.skipIf(skip)('moves interrupted by a dying manager or agent; drain fallback', () => {
  logsOnFailure(() =>
    c
      ? [
          { name: 'manager', output: () => c.manager.output() },
          ...c.hosts.map((h) => ({ name: h.name, output: () => h.agent.output() })),
        ]
      : [],
  );
  beforeAll(async () => {
    c = await startProcCluster(testPgUrl()!, 'mr', 2);
    const r = await cli(
      [
        ...['create', '--name', `rec-${c.tag}`, '--memory', '128', '--network', c.network],
        ...['--drain-policy', 'stop', '--wait-timeout', '600'],
      ],
      c.env,
    );
    expect(r.code, r.stderr).toBe(0);
    vm = await c.client.call('getVm', { params: { id: `rec-${c.tag}` } });
    expect(vm).toMatchObject({ state: 'running', drainPolicy: 'stop' });
    a = c.hosts.find((h) => h.id === vm.host)!;
    b = c.hosts.find((h) => h.id !== vm.host)!;
    const started = await guestSh(
      c.client,
      vm.id,
      `nohup sh -c 'exec 3>>/root/count.log; i=0; while :; do i=$((i+1)); echo $i >&3; sleep 0.2; done' >/dev/null 2>&1 & echo $!`,
    );
    expect(started.exitCode).toBe(0);
    await until('the counter runs', async () => (await counted()) > 2, 60_000);
  }, 900_000);

  afterAll(async () => {
    await c?.dispose();
  });

  it('the manager killed mid-move: the next one gives the move up, the VM runs on its source only', async () => {
    const attempt = c.client.call('migrateVm', { params: { id: vm.id }, body: { toHost: b.name } }).then(
      () => 'answered',
      (e: Error) => e.message,
    );
    await destinationWaiting();
    await c.manager.kill('SIGKILL');
    expect(await attempt).not.toBe('answered');
    await c.startManager();
    await until(
      'the new manager resolves the move',
      async () => (await migrationEvents()).some((e) => e.startsWith('recovered: ')),
      300_000,
    );
    expect((await migrationEvents()).filter((e) => e.startsWith('recovered: '))).toEqual([
      `recovered: the move to ${b.name} was given up; the VM stays on ${a.name}`,
    ]);
    await expectRunsOnAOnly();
    expect(await c.client.call('getVm', { params: { id: vm.id } })).toMatchObject({ lastMigration: null });
  }, 900_000);

  it('the destination agent killed mid-move: the move fails, the source runs on; B cleans up on its return', async () => {
    const attempt = cli(['migrate', vm.id, '--to', b.name], c.env);
    await destinationWaiting();
    await b.agent.kill('SIGKILL');
    const r = await attempt;
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('MIGRATION_FAILED');
    expect((await migrationEvents()).at(-1)).toMatch(new RegExp(`^failed: .*; the VM stays on ${a.name}$`));
    const v = await c.client.call('getVm', { params: { id: vm.id } });
    expect(v).toMatchObject({ state: 'running', host: a.id, lastMigration: null });
    // B's leftover waits until its agent is back; a move there meanwhile is refused.
    await expect(
      c.client.call('migrateVm', { params: { id: vm.id }, body: { toHost: b.name } }),
    ).rejects.toMatchObject({ code: expect.stringMatching(/MIGRATION_FAILED|MIGRATION_NO_TARGET/) });
    await b.start();
    await expectRunsOnAOnly();
    // The fence on B goes at B's first heartbeat without the copy: until then a move there (the
    // drain below) is still refused.
    await until('B no longer fenced', async () => (await fencesOn(b.id)) === 0, 120_000);
  }, 900_000);

  it('drain: a VM whose drain policy is stop is stopped, moved cold with its disk, and left stopped', async () => {
    const word = randomBytes(8).toString('hex');
    expect((await guestSh(c.client, vm.id, `echo ${word} > /root/drain.txt && sync`)).exitCode).toBe(0);
    const r = await cli(['host', 'drain', a.name], c.env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const host = await c.client.call('getHost', { params: { id: a.id } });
    expect(host.drain).toMatchObject({
      status: 'done',
      vms: [{ vm: vm.id, status: 'done', mode: 'cold', to: b.id }],
    });
    expect(host.drain!.vms[0]!.reason).toBe('its drain policy is "stop": stopped, moved cold, left stopped');
    const v = await c.client.call('getVm', { params: { id: vm.id } });
    expect(v).toMatchObject({
      state: 'stopped',
      host: b.id,
      lastMigration: { mode: 'cold', from: a.id, to: b.id },
    });
    expect(
      (await migrationEvents()).some((e) => e.startsWith('drain: its drain policy is "stop": stopping it')),
    ).toBe(true);
    // Its disk came along: started on B, the file written on A is there.
    await c.client.call('startVm', { params: { id: vm.id } });
    await c.client.call('waitVm', { params: { id: vm.id }, query: { state: 'running', timeout: 600 } });
    const cat = await guestSh(c.client, vm.id, 'cat /root/drain.txt');
    expect(cat.stdout.trim()).toBe(word);
    expect(existsSync(join(a.dir, 'agent', 'vms', vm.id))).toBe(false);
  }, 1_200_000);
});
