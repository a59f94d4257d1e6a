import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vm } from '@hearth/contract';
import type { Platform } from '../helpers/platform.ts';
import { deleteVmAndWait, guestSh } from '../helpers/netns.ts';
import { startNsCluster, type NsCluster, type NsHost } from '../helpers/ns-hosts.ts';
import { logsOnFailure } from '../helpers/failure-logs.ts';
import { cli } from '../helpers/proc.ts';
import { until } from '../helpers/vm.ts';
import { qemusOf } from '../helpers/qemu-procs.ts';

// Live migration and drain between two agents in network namespaces joined by an underlay
// bridge (the pattern of overlay.test.ts), with real QEMU VMs on a VXLAN network spanning both.
let c: NsCluster;
let p: Platform;
let env: Record<string, string>;
let tag = '';
let network = '';
let hosts: NsHost[] = [];
logsOnFailure(() => hosts.map((h) => ({ name: h.name, output: () => h.agent.output() })));

async function boot(name: string, host: string): Promise<Vm> {
  const vm = await p.client.call('createVm', {
    body: { name: `${name}-${tag}`, network, host, memoryMib: 128 },
  });
  return p.client.call('waitVm', { params: { id: vm.id }, query: { state: 'running', timeout: 300 } });
}

/**
 * A process that appends a counter through a file descriptor it keeps open, five times a second;
 * answers its pid.
 */
async function startCounter(vm: Vm): Promise<string> {
  const r = await guestSh(
    p.client,
    vm.id,
    `nohup sh -c 'exec 3>>/root/count.log; i=0; while :; do i=$((i+1)); echo $i >&3; sleep 0.2; done' >/dev/null 2>&1 & echo $!`,
  );
  expect(r.exitCode).toBe(0);
  return r.stdout.trim();
}

/** The counter's process is the same, still running, and its file holds 1..N without a gap. */
async function expectCounterIntact(vm: Vm, pid: string, before: number): Promise<void> {
  const alive = await guestSh(p.client, vm.id, `kill -0 ${pid} && readlink /proc/${pid}/fd/3`);
  expect(alive).toMatchObject({ exitCode: 0 });
  expect(alive.stdout.trim()).toBe('/root/count.log');
  await until(
    'the counter goes on after the move',
    async () => {
      const lines = (await guestSh(p.client, vm.id, 'cat /root/count.log')).stdout.trim().split('\n');
      return Number(lines.at(-1)) > before + 3;
    },
    60_000,
  );
  const lines = (await guestSh(p.client, vm.id, 'cat /root/count.log')).stdout.trim().split('\n');
  expect(lines.map(Number)).toEqual(lines.map((_, i) => i + 1));
}

/** Mounts the volume with this serial on /mnt/data (the guest finds it by serial, not by name). */
const mountVolume = (serial: string) =>
  `for d in /sys/block/vd*; do [ "$(cat $d/serial 2>/dev/null)" = "${serial}" ] && dev=/dev/$(basename $d); done; ` +
  'mkdir -p /mnt/data && mount "$dev" /mnt/data';

async function counted(vm: Vm): Promise<number> {
  const r = await guestSh(p.client, vm.id, 'tail -n 1 /root/count.log');
  return Number(r.stdout.trim());
}

beforeAll(async () => {
  c = await startNsCluster('hm', 2);
  ({ p, tag, network, hosts } = c);
  env = { HEARTH_URL: p.manager.url, HEARTH_TOKEN: p.manager.adminToken };
}, 400_000);

afterAll(async () => {
  await c?.dispose();
});

describe('live migration and drain (two agents in network namespaces)', () => {
  it('a migration whose destination QEMU dies mid-way leaves the VM running on its source, unchanged', async () => {
    const [a, b] = hosts as [NsHost, NsHost];
    // First, while neither host is cordoned (the drain below cordons one).
    const vm = await boot('fail', a.id);
    const pid = await startCounter(vm);
    await until('the counter runs', async () => (await counted(vm)) > 2, 60_000);
    const before = await counted(vm);
    const attempt = cli(['migrate', vm.id, '--to', b.name], env);
    let killed = 0;
    await until(
      'the destination QEMU waits for the VM',
      () => {
        const dest = qemusOf(vm.id).find((q) => q.argv.includes('-incoming'));
        if (dest) {
          process.kill(dest.pid, 'SIGKILL');
          killed = dest.pid;
        }
        return killed !== 0;
      },
      120_000,
    );
    const r = await attempt;
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('MIGRATION_FAILED');
    const now = await p.client.call('getVm', { params: { id: vm.id } });
    expect(now).toMatchObject({ state: 'running', host: a.id, ip: vm.ip, lastMigration: null });
    await expectCounterIntact(vm, pid, before);
    const events = await p.client.call('vmEvents', { params: { id: vm.id }, query: { limit: 200 } });
    const said = events.items.filter((e) => e.type === 'migration').map((e) => e.reason ?? '');
    expect(said.at(-1)).toMatch(/^failed: .*; the VM stays on hm-2-/);
    // The destination kept nothing: no VMM, no run directory.
    await until(
      'the destination is cleaned up',
      () => !existsSync(join(b.dir, 'agent', 'vms', vm.id)),
      60_000,
    );
    expect(qemusOf(vm.id).filter((q) => q.argv.includes('-incoming'))).toEqual([]);
    // A move to the host it is on is refused clearly.
    await expect(
      p.client.call('migrateVm', { params: { id: vm.id }, body: { toHost: a.name } }),
    ).rejects.toMatchObject({ code: 'MIGRATION_NO_TARGET' });
    await deleteVmAndWait(p.client, vm.id);
  }, 600_000);
  it('drain: two running VMs move live with their process and open file, a stopped one cold', async () => {
    const [a, b] = hosts as [NsHost, NsHost];
    const live = [await boot('live-1', a.id), await boot('live-2', a.id)];
    // The stopped VM has a volume attached: its file moves with the VM's disk.
    const vol = await p.client.call('createVolume', {
      body: { name: `data-${tag}`, size: '64mb', host: a.id },
    });
    const created = await p.client.call('createVm', {
      body: { name: `cold-${tag}`, network, host: a.id, memoryMib: 128, start: false },
    });
    await p.client.call('attachVolume', { params: { id: vol.id }, body: { vm: created.id } });
    await p.client.call('startVm', { params: { id: created.id } });
    const cold = await p.client.call('waitVm', {
      params: { id: created.id },
      query: { state: 'running', timeout: 300 },
    });
    const word = randomBytes(8).toString('hex');
    expect((await guestSh(p.client, cold.id, `echo ${word} > /root/cold.txt && sync`)).exitCode).toBe(0);
    expect(
      (
        await guestSh(
          p.client,
          cold.id,
          `${mountVolume(vol.serial)} && echo ${word} > /mnt/data/w && sync && umount /mnt/data`,
        )
      ).exitCode,
    ).toBe(0);
    await p.client.call('stopVm', { params: { id: cold.id }, body: {} });
    await p.client.call('waitVm', { params: { id: cold.id }, query: { state: 'stopped', timeout: 120 } });
    const pids = await Promise.all(live.map(startCounter));
    const before = await Promise.all(
      live.map(async (vm) => {
        await until('the counter runs', async () => (await counted(vm)) > 2, 60_000);
        return counted(vm);
      }),
    );

    const r = await cli(['host', 'drain', a.name], env);
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout).toContain('drain done');

    const host = await p.client.call('getHost', { params: { id: a.id } });
    expect(host.cordoned).toBe(true);
    expect(host.drain?.status).toBe('done');
    expect(host.drain?.vms.map((v) => [v.vm, v.status, v.to, v.mode]).sort()).toEqual(
      [
        [live[0]!.id, 'done', b.id, 'live'],
        [live[1]!.id, 'done', b.id, 'live'],
        [cold.id, 'done', b.id, 'cold'],
      ].sort(),
    );
    for (const [i, vm] of live.entries()) {
      const now = await p.client.call('getVm', { params: { id: vm.id } });
      expect(now).toMatchObject({ id: vm.id, name: vm.name, state: 'running', host: b.id, ip: vm.ip });
      expect(now.lastMigration).toMatchObject({ from: a.id, to: b.id, mode: 'live' });
      expect(now.lastMigration!.downtimeMs).toBeGreaterThan(0);
      expect(now.lastMigration!.totalMs).toBeGreaterThanOrEqual(now.lastMigration!.downtimeMs!);
      console.log(`live move of ${vm.name}: ${JSON.stringify(now.lastMigration)}`);
      await expectCounterIntact(vm, pids[i]!, before[i]!);
      const events = await p.client.call('vmEvents', { params: { id: vm.id }, query: { limit: 200 } });
      const said = events.items.filter((e) => e.type === 'migration').map((e) => e.reason ?? '');
      expect(said[0]).toMatch(/^preparing: live move/);
      expect(said.some((s) => s.startsWith('mirroring disk'))).toBe(true);
      expect(said.some((s) => s.startsWith('copying memory'))).toBe(true);
      expect(said.at(-1)).toMatch(/^done: on hm-3-.* \(live, downtime \d+ ms, total \d+ ms\)$/);
      // Nothing of it is left on the source host.
      expect(existsSync(join(a.dir, 'agent', 'vms', vm.id))).toBe(false);
    }
    // The two moved VMs still reach each other on the overlay.
    const ping = await guestSh(p.client, live[0]!.id, `ping -c 1 -W 5 ${live[1]!.ip}`);
    expect(ping.exitCode).toBe(0);

    const moved = await p.client.call('getVm', { params: { id: cold.id } });
    expect(moved).toMatchObject({
      state: 'stopped',
      host: b.id,
      lastMigration: { mode: 'cold', downtimeMs: null },
    });
    await p.client.call('startVm', { params: { id: cold.id } });
    await p.client.call('waitVm', { params: { id: cold.id }, query: { state: 'running', timeout: 300 } });
    expect((await guestSh(p.client, cold.id, 'cat /root/cold.txt')).stdout.trim()).toBe(word);
    // The volume went with it: its record names B, the guest reads what it wrote, A keeps no copy.
    expect(await p.client.call('getVolume', { params: { id: vol.id } })).toMatchObject({
      host: b.id,
      attachedTo: cold.id,
    });
    const read = await guestSh(
      p.client,
      cold.id,
      `${mountVolume(vol.serial)} && cat /mnt/data/w && umount /mnt/data`,
    );
    expect(read.stdout.trim()).toBe(word);
    expect(existsSync(join(a.dir, 'agent', 'volumes', `${vol.id}.img`))).toBe(false);
    expect(existsSync(join(b.dir, 'agent', 'volumes', `${vol.id}.img`))).toBe(true);

    // `migrate` of a stopped VM takes its snapshots (and its volume) along: back to A.
    const snap = await p.client.call('createSnapshot', {
      params: { id: cold.id },
      body: { name: `s-${tag}`, kind: 'disk' },
    });
    await p.client.call('stopVm', { params: { id: cold.id }, body: {} });
    await p.client.call('waitVm', { params: { id: cold.id }, query: { state: 'stopped', timeout: 120 } });
    await p.client.call('uncordonHost', { params: { id: a.id } });
    const back = await p.client.call('migrateVm', { params: { id: cold.id }, body: { toHost: a.id } });
    expect(back).toMatchObject({ host: a.id, state: 'stopped', lastMigration: { mode: 'cold' } });
    expect(await p.client.call('getSnapshot', { params: { id: snap.id } })).toMatchObject({ host: a.id });
    expect(existsSync(join(a.dir, 'agent', 'snapshots', snap.id))).toBe(true);
    expect(existsSync(join(b.dir, 'agent', 'snapshots', snap.id))).toBe(false);
    expect(existsSync(join(a.dir, 'agent', 'volumes', `${vol.id}.img`))).toBe(true);
    expect(existsSync(join(b.dir, 'agent', 'volumes', `${vol.id}.img`))).toBe(false);

    await p.client.call('deleteSnapshot', { params: { id: snap.id } });
    for (const vm of [...live, cold]) await deleteVmAndWait(p.client, vm.id);
    await p.client.call('deleteVolume', { params: { id: vol.id } });
  }, 900_000);
});
