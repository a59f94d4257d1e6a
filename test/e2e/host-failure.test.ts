import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vm } from '@hearth/contract';
import { killLeftoverVmms, startPlatform, type Platform } from '../helpers/platform.ts';
import { guestSh, ip, testNamespace, type TestNs } from '../helpers/netns.ts';
import { cli, runHearth, type Proc } from '../helpers/proc.ts';
import { until } from '../helpers/vm.ts';

// A host dies for real: its agent (in a network namespace of its own, on an underlay bridge) and
// its VMMs are killed with SIGKILL. Its VMs become unknown after the grace period; the operator
// declares it dead with the CLI; the VM with restart policy `always` boots on the surviving host
// (the platform's own agent) from its image, its snapshot having died with the host, and the other
// is lost with why. Then the dead host's agent comes back: it is fenced (destroys both VMs) and no
// VM runs twice.
const tag = randomBytes(3).toString('hex');
const u = randomInt(2, 250);
const underlayBridge = `hfl${tag}`;
const managerIp = `10.247.${u}.1`;
let p: Platform;
let ns: TestNs | null = null;
let agent: Proc | null = null;
const name = `doomed-${tag}`;
let dir = '';
let env: Record<string, string> = {};

function startDoomedAgent(): Proc {
  return runHearth(
    [
      '--data-dir',
      dir,
      'agent',
      '--manager',
      p.manager.url,
      '--join-token',
      p.joinToken,
      '--listen',
      `10.247.${u}.2`,
      '--port',
      '18081',
      '--name',
      name,
      '--underlay',
      `10.247.${u}.2`,
    ],
    {},
    { netns: ns!.name },
  );
}

/** VMM processes (QEMU or Firecracker) whose command line names the VM id. */
function vmmProcessesOf(vmId: string): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (/qemu-system|firecracker/.test(cmd) && cmd.includes(vmId)) pids.push(Number(pid));
  }
  return pids;
}

beforeAll(async () => {
  ip('link', 'add', underlayBridge, 'type', 'bridge');
  ip('addr', 'add', `${managerIp}/24`, 'dev', underlayBridge);
  ip('link', 'set', underlayBridge, 'up');
  p = await startPlatform({ managerHost: managerIp, manager: { hostUnreachableMs: 15_000 } });
  env = { HEARTH_URL: p.manager.url, HEARTH_TOKEN: p.manager.adminToken };
  ns = testNamespace({ hostCidr: null, nsCidrs: [`10.247.${u}.2/24`], prefix: 'hf' });
  ip('link', 'set', ns.hostSide, 'master', underlayBridge);
  dir = join(p.dir, name);
  agent = startDoomedAgent();
  await agent.waitFor('agent registered', 120_000);
}, 300_000);

afterAll(async () => {
  await agent?.kill('SIGKILL').catch(() => undefined);
  if (dir) await killLeftoverVmms(dir);
  ns?.dispose();
  await p?.dispose();
  spawnSync('ip', ['link', 'del', underlayBridge]);
});

describe('a host killed, declared dead, and fenced when it comes back', () => {
  it('restarts the `always` VM elsewhere, marks the other lost, and never runs a VM twice', async () => {
    const hosts = (await p.client.call('listHosts', {})).items;
    const doomed = hosts.find((h) => h.name === name)!;
    const survivor = hosts.find((h) => h.id === p.agent!.hostId)!;
    const create = (vmName: string, restartPolicy: 'always' | 'no') =>
      p.client.call('createVm', { body: { name: vmName, host: doomed.id, restartPolicy } });
    const [keep0, drop0] = await Promise.all([create(`keep-${tag}`, 'always'), create(`drop-${tag}`, 'no')]);
    const wait = (id: string, state: Vm['state']) =>
      p.client.call('waitVm', { params: { id }, query: { state, timeout: 300 } });
    await Promise.all([wait(keep0.id, 'running'), wait(drop0.id, 'running')]);
    expect(vmmProcessesOf(keep0.id)).toHaveLength(1);
    // A file, then a snapshot: taken on the doomed host, where snapshot files live, so it dies
    // with it. The restart elsewhere is from the image, and the file is not there.
    const wrote = await guestSh(p.client, keep0.id, 'echo before > /root/before-snapshot && sync');
    expect(wrote.exitCode, wrote.stderr).toBe(0);
    const snap = await p.client.call('createSnapshot', {
      params: { id: keep0.id },
      body: { name: `keep-snap-${tag}`, kind: 'disk' },
    });
    expect(snap).toMatchObject({ state: 'ready', host: doomed.id });

    // The host dies: its agent and its VMMs, without a chance to say anything.
    await agent!.kill('SIGKILL');
    agent = null;
    await killLeftoverVmms(dir);
    await until('the VMMs are gone', () => vmmProcessesOf(keep0.id).length === 0, 30_000);
    const vm = (id: string) => p.client.call('getVm', { params: { id } });
    for (const id of [keep0.id, drop0.id])
      await until(`VM ${id} becomes unknown`, async () => (await vm(id)).state === 'unknown', 180_000);
    expect((await p.client.call('getHost', { params: { id: doomed.id } })).state).toBe('unreachable');

    // The operator's statement, through the CLI.
    const r = await cli(['host', 'declare-dead', name], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`restarted ${keep0.id} on ${survivor.id} from its image`);
    expect(r.stdout).toContain(`lost ${drop0.id}`);

    const keep = await wait(keep0.id, 'running');
    expect(keep.host).toBe(survivor.id);
    const events = await p.client.call('vmEvents', { params: { id: keep.id }, query: { limit: 100 } });
    expect(events.items.map((e) => e.reason).join('\n')).toContain(
      `restarted on ${survivor.name} from its image (its snapshots were on that host): its disk starts afresh`,
    );
    const fresh = await guestSh(p.client, keep.id, 'test -e /root/before-snapshot; echo $?');
    expect(fresh.stdout.trim()).toBe('1');
    const drop = await vm(drop0.id);
    expect(drop).toMatchObject({ state: 'lost', host: null });
    expect(drop.stateReason).toMatch(/declared dead; its restart policy is "no"/);
    expect(vmmProcessesOf(keep.id)).toHaveLength(1);

    // The dead host's agent comes back (same data directory, so it still has both VMs' records):
    // it is told to destroy them, never to run them.
    agent = startDoomedAgent();
    await agent.waitFor('agent registered', 120_000);
    const vmsDir = join(dir, 'agent', 'vms');
    await until(
      'the returning host has destroyed the fenced VMs',
      () => !existsSync(join(vmsDir, keep.id)) && !existsSync(join(vmsDir, drop.id)),
      120_000,
    );
    await until(
      'its fences are cleared once its agent no longer has them',
      async () =>
        Number(
          (await p.manager.db.query<{ n: number }>('SELECT count(*)::int AS n FROM host_fences'))[0]!.n,
        ) === 0,
      60_000,
    );
    const back = await p.client.call('getHost', { params: { id: doomed.id } });
    expect(back).toMatchObject({ state: 'ready', cordoned: true, deadAt: null });
    // One VMM for the restarted VM (on the survivor), none for the lost one; records unchanged.
    expect(vmmProcessesOf(keep.id)).toHaveLength(1);
    expect(vmmProcessesOf(drop.id)).toHaveLength(0);
    expect(await vm(keep.id)).toMatchObject({ state: 'running', host: survivor.id });
    expect((await vm(drop.id)).state).toBe('lost');

    for (const id of [keep.id, drop.id]) await p.client.call('deleteVm', { params: { id } });
    await until(
      'both VMs are deleted',
      async () =>
        (await p.client.call('listVms', {})).items.every((v) => v.id !== keep.id && v.id !== drop.id),
      120_000,
    );
  }, 900_000);
});
