import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox } from 'e2b';
import { late } from '../helpers/late.ts';
import { startNsCluster, type NsCluster, type NsHost } from '../helpers/ns-hosts.ts';
import { qemusOf } from '../helpers/qemu-procs.ts';
import { until } from '../helpers/vm.ts';

// A paused sandbox resumes "possibly on another host" (issue 19): the unmodified `e2b` SDK
// (2.51.0, pinned) against a manager with two agents in network namespaces. Its host cordoned
// or drained, the stopped VM moves with its disk and the memory snapshot it was paused to, and
// resumes on the other host with its files and a process whose state lives only in memory.

const cluster = late<NsCluster>('the cluster');

const opts = () => {
  const p = cluster.get().p;
  return {
    apiUrl: `${p.manager.url}/e2b`,
    sandboxUrl: `${p.manager.url}/e2b`,
    apiKey: p.manager.adminToken,
    requestTimeoutMs: 300_000,
  };
};

const client = () => cluster.get().p.client;
const vmOf = (sbx: Sandbox) => client().call('getVm', { params: { id: `e2b-${sbx.sandboxId}` } });
const snapshotsOf = async (vmId: string) =>
  (await client().call('listSnapshots', { query: { vm: vmId } })).items;
const snapshotDirs = (h: NsHost) => {
  const dir = join(h.dir, 'agent', 'snapshots');
  return existsSync(dir) ? readdirSync(dir) : [];
};

/** The counter's last value: a shell variable, written out five times a second. */
async function counted(sbx: Sandbox): Promise<number> {
  const r = await sbx.commands.run('cat /root/count', { timeoutMs: 120_000 });
  return Number(r.stdout.trim());
}

/** The process is the one started before the pause, and it counts on from where it was. */
async function expectCountsOn(sbx: Sandbox, pid: number, before: number): Promise<void> {
  expect((await sbx.commands.list()).map((x) => x.pid)).toContain(pid);
  const first = await counted(sbx);
  expect(first).toBeGreaterThanOrEqual(before);
  // Restarted from nothing it would count from 1: it goes on from `before` instead.
  await until('the counter goes on', async () => (await counted(sbx)) > first + 2, 120_000);
}

/** The host holds nothing of the VM: no run directory, no snapshot files, no VMM. */
function expectNothingOn(h: NsHost, vmId: string, snapshotId: string): void {
  expect(existsSync(join(h.dir, 'agent', 'vms', vmId))).toBe(false);
  expect(snapshotDirs(h).filter((d) => d.includes(snapshotId))).toEqual([]);
  expect(qemusOf(vmId).filter((q) => q.argv.some((a) => a.startsWith(h.dir)))).toEqual([]);
}

let sbx: Sandbox | null = null;

beforeAll(async () => {
  cluster.set(await startNsCluster('eb', 2));
}, 400_000);

afterAll(async () => {
  if (sbx) await Sandbox.kill(sbx.sandboxId, opts()).catch(() => undefined);
  await cluster.peek()?.dispose();
}, 120_000);

describe('a paused sandbox resumes on another host', () => {
  let pid = 0;
  let word = '';

  it('its host cordoned: connect moves the stopped VM with its snapshot and resumes it on the other host', async () => {
    const hosts = cluster.get().hosts;
    sbx = await Sandbox.create({ ...opts(), timeoutMs: 900_000 });
    const vm = await vmOf(sbx);
    const a = hosts.find((h) => h.id === vm.host)!;
    const b = hosts.find((h) => h.id !== vm.host)!;
    word = randomBytes(8).toString('hex');
    await sbx.files.write('/root/kept.txt', word);
    const bg = await sbx.commands.run(
      `sh -c 'i=0; while :; do i=$((i+1)); echo $i > /root/count.part; mv /root/count.part /root/count; sleep 0.2; done'`,
      { background: true, timeoutMs: 0 },
    );
    pid = bg.pid;
    await until('the counter runs', async () => (await counted(sbx!).catch(() => 0)) > 3, 120_000);

    const before = await counted(sbx);
    expect(await sbx.pause()).toBe(true);
    expect((await vmOf(sbx)).state).toBe('stopped');
    const [snap] = await snapshotsOf(vm.id);
    expect(snap).toMatchObject({ host: a.id, kind: 'memory' });
    expect(snapshotDirs(a)).toContain(snap!.id);

    await client().call('cordonHost', { params: { id: a.id } });
    const t0 = Date.now();
    const back = await Sandbox.connect(sbx.sandboxId, { ...opts(), timeoutMs: 900_000 });
    console.log(`resumed on the other host in ${Date.now() - t0} ms`);
    expect((await back.getInfo()).state).toBe('running');
    const now = await vmOf(back);
    expect(now).toMatchObject({ id: vm.id, state: 'running', host: b.id, ip: vm.ip });
    expect(now.lastMigration).toMatchObject({ from: a.id, to: b.id, mode: 'cold' });
    expect(await back.files.read('/root/kept.txt')).toBe(word);
    await expectCountsOn(back, pid, before);
    // The snapshot was resumed from and deleted; neither host keeps its files, the source nothing.
    expect(await snapshotsOf(vm.id)).toEqual([]);
    expectNothingOn(a, vm.id, snap!.id);
    expect(snapshotDirs(b).filter((d) => d.includes(snap!.id))).toEqual([]);
    expect(qemusOf(vm.id)).toHaveLength(1);
    const events = await client().call('vmEvents', { params: { id: vm.id }, query: { limit: 200 } });
    const said = events.items.filter((e) => e.type === 'migration').map((e) => e.reason ?? '');
    expect(said.some((s) => s.startsWith(`copying snapshot ${snap!.id}`))).toBe(true);
    expect(said.at(-1)).toMatch(/^done: on eb-\d-\w+ \(cold, total \d+ ms\)$/);
    sbx = back;
  }, 900_000);

  it('a drain takes a paused sandbox’s snapshot along; with no host to take it, connect answers 409 and it stays paused', async () => {
    const hosts = cluster.get().hosts;
    const s = sbx!;
    const vm = await vmOf(s);
    const b = hosts.find((h) => h.id === vm.host)!;
    const a = hosts.find((h) => h.id !== vm.host)!;
    await client().call('uncordonHost', { params: { id: a.id } });
    const before = await counted(s);
    expect(await s.pause()).toBe(true);
    const [snap] = await snapshotsOf(vm.id);
    expect(snap).toMatchObject({ host: b.id });

    await client().call('drainHost', { params: { id: b.id } });
    await until(
      'the drain over',
      async () => (await client().call('getHost', { params: { id: b.id } })).drain?.status !== 'draining',
      600_000,
    );
    const host = await client().call('getHost', { params: { id: b.id } });
    expect(host.drain).toMatchObject({ status: 'done', vms: [{ vm: vm.id, status: 'done', to: a.id }] });
    expect(await vmOf(s)).toMatchObject({ state: 'stopped', host: a.id });
    expect(await client().call('getSnapshot', { params: { id: snap!.id } })).toMatchObject({ host: a.id });
    expectNothingOn(b, vm.id, snap!.id);
    expect(snapshotDirs(a)).toContain(snap!.id);

    // Both hosts cordoned: nowhere to resume. A 409 naming the reason; still paused, files kept.
    await client().call('cordonHost', { params: { id: a.id } });
    const refused = await fetch(`${cluster.get().p.manager.url}/e2b/sandboxes/${s.sandboxId}/connect`, {
      method: 'POST',
      headers: { 'x-api-key': cluster.get().p.manager.adminToken, 'content-type': 'application/json' },
      body: JSON.stringify({ timeout: 600 }),
    });
    const body = (await refused.json()) as { code: number; message: string };
    expect(refused.status).toBe(409);
    expect(body.code).toBe(409);
    expect(body.message).toMatch(
      /^MIGRATION_NO_TARGET: resuming sandbox \S+ failed: its host eb-\d-\w+ is cordoned/,
    );
    expect((await Sandbox.getInfo(s.sandboxId, opts())).state).toBe('paused');
    expect(snapshotDirs(a)).toContain(snap!.id);

    await client().call('uncordonHost', { params: { id: a.id } });
    const back = await Sandbox.connect(s.sandboxId, { ...opts(), timeoutMs: 900_000 });
    expect(await vmOf(back)).toMatchObject({ state: 'running', host: a.id });
    expect(await back.files.read('/root/kept.txt')).toBe(word);
    await expectCountsOn(back, pid, before);
    expect(await Sandbox.kill(s.sandboxId, opts())).toBe(true);
    sbx = null;
  }, 1_200_000);
});
