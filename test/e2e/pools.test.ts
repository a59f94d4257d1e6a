import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vm } from '@hearth/contract';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { until } from '../helpers/vm.ts';

// Warm pools on real VMs: a VM handed out from a pool must be indistinguishable from one booted
// for the request — its name, address, credentials, env, clock and randomness are its own.
let p: Platform;
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPoolTestKeyOnlyForTheSuite000000000000000 pool@hearth';
const STALE_MACHINE_ID = '0123456789abcdef0123456789abcdef';
// 2001-09-09: a guest clock this far off cannot pass for the host's by accident.
const WRONG_CLOCK_MS = 1_000_000_000_000;

const sh = async (vm: string, command: string) =>
  (await p.client.call('execVm', { params: { id: vm }, body: { command } })).stdout.trim();

/** A VMM's CPU weight from its cgroup (v2 `cpu.weight`; v1 `cpu.shares` as a weight). */
async function cpuWeight(pid: number): Promise<number> {
  const lines = (await readFile(`/proc/${pid}/cgroup`, 'utf8')).split('\n');
  const v1 = lines.find((l) => /^\d+:([^:]*,)?cpu(,[^:]*)?:/.test(l));
  if (v1) {
    const [, controllers, path] = v1.split(':');
    const shares = await readFile(`/sys/fs/cgroup/${controllers}${path}/cpu.shares`, 'utf8');
    return Math.round((Number(shares) * 100) / 1024);
  }
  const path = lines.find((l) => l.startsWith('0::'))!.slice(3);
  return Number(await readFile(`/sys/fs/cgroup${path}/cpu.weight`, 'utf8'));
}

beforeAll(async () => {
  p = await startPlatform();
}, 600_000);
afterAll(async () => {
  await p?.dispose();
});

describe('warm pools (real VMs)', () => {
  const made: Vm[] = [];

  it('fills a pool with pooled VMs', async () => {
    await p.client.call('createPool', { body: { name: 'warm', size: 2 } });
    // The loop boots one VM per host at a time: two boots in a row on this 2-core machine.
    await until(
      'two pooled VMs',
      async () => (await p.client.call('getPool', { params: { id: 'warm' } })).ready === 2,
      600_000,
    ).catch(async (e: Error) => {
      const pool = await p.client.call('getPool', { params: { id: 'warm' } });
      const vms = (await p.client.call('listVms', { query: {} })).items.map((v) => [
        v.name,
        v.state,
        v.stateReason,
      ]);
      throw new Error(`${e.message}; pool ${JSON.stringify(pool)}; VMs ${JSON.stringify(vms)}`);
    });
    const pooled = (await p.client.call('listVms', { query: {} })).items.filter((v) => v.pool === 'warm');
    expect(pooled.map((v) => v.state)).toEqual(['pooled', 'pooled']);
    // Waiting VMs run at the background CPU weight: refills and idle pool VMs yield to real work.
    for (const vm of pooled) expect(await cpuWeight(vm.pid!)).toBeLessThanOrEqual(10);
    // While they wait: a stale machine-id (as an image built with one has) and a clock far off
    // (as after a long idle, or a restore), both of which a hand-out must replace.
    for (const vm of pooled) {
      const guest = await p.agent!.supervisor.guest(vm.id);
      const r = await guest.request<{ exitCode: number }>(
        { op: 'exec', command: `echo ${STALE_MACHINE_ID} > /etc/machine-id` },
        30_000,
      );
      expect(r.exitCode).toBe(0);
      await guest.request({ op: 'time.sync', unixMs: WRONG_CLOCK_MS }, 10_000);
    }
  }, 640_000);

  it('hands out two VMs at once, each with its own name, address, credentials, env, clock and entropy', async () => {
    const out = await Promise.all(
      ['alpha', 'beta'].map((name, i) =>
        p.client.call('createVm', {
          body: {
            name,
            pool: 'warm',
            env: { WHO: name },
            user: 'alice',
            password: `pw-${i}`,
            sshKeys: [KEY],
          },
        }),
      ),
    );
    made.push(...out);
    for (const vm of made) {
      expect(vm).toMatchObject({ state: 'running', pool: 'warm', boot: { source: 'pool', pool: 'warm' } });
      expect(vm.boot!.steps.map((s) => s.name)).toEqual(['take', 'personalize']);
    }
    const [a, b] = made as [Vm, Vm];
    // Name and hostname.
    for (const vm of made) {
      expect(await sh(vm.id, 'hostname')).toBe(vm.name);
      expect(await sh(vm.id, 'cat /etc/hostname')).toBe(vm.name);
    }
    // Address: its own (the one the platform recorded), and not the other's.
    expect(a.ip).toBeTruthy();
    expect(a.ip).not.toBe(b.ip);
    for (const vm of made) expect(await sh(vm.id, 'ip -4 -o addr show')).toContain(`${vm.ip}/`);
    // Env for later execs.
    for (const vm of made) expect(await sh(vm.id, 'echo $WHO')).toBe(vm.name);
    // Credentials: the account exists, its key is authorized, and its password verifies.
    for (const [i, vm] of made.entries()) {
      expect(await sh(vm.id, 'id -un alice')).toBe('alice');
      expect(await sh(vm.id, 'cat /home/alice/.ssh/authorized_keys')).toContain(KEY);
      const hash = (await sh(vm.id, 'grep ^alice: /etc/shadow')).split(':')[1]!;
      const salt = hash.split('$')[2]!;
      const again = spawnSync('openssl', ['passwd', '-6', '-salt', salt, '-stdin'], { input: `pw-${i}\n` });
      expect(again.stdout.toString().trim()).toBe(hash);
    }
    // Clock: the host's again, although the guest was set to 2001 while it waited.
    for (const vm of made) {
      const guestS = Number(await sh(vm.id, 'date +%s'));
      expect(Math.abs(guestS * 1000 - Date.now())).toBeLessThan(10_000);
    }
    // Handed out: the normal CPU weight, like any VM's.
    for (const vm of made) {
      expect(await cpuWeight((await p.client.call('getVm', { params: { id: vm.id } })).pid!)).toBe(100);
    }
    // A fresh machine-id each, and different random bytes.
    const ids = await Promise.all(made.map((vm) => sh(vm.id, 'cat /etc/machine-id')));
    expect(ids[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(ids).not.toContain(STALE_MACHINE_ID);
    expect(ids[0]).not.toBe(ids[1]);
    const rand = await Promise.all(made.map((vm) => sh(vm.id, 'head -c 32 /dev/urandom | od -An -tx1')));
    expect(rand[0]).not.toBe(rand[1]);
  }, 240_000);

  it("a handed-out VM stays its user's through restarts: running (never pooled again), full CPU weight", async () => {
    const vm = made[0]!;
    for (let i = 0; i < 2; i++) {
      await p.client.call('restartVm', { params: { id: vm.id } });
      const up = await p.client.call('waitVm', {
        params: { id: vm.id },
        query: { state: 'running', timeout: 300 },
      });
      expect(up.state).toBe('running');
      expect(up.boot).toMatchObject({ source: 'restart', pool: 'warm' });
      expect(await cpuWeight(up.pid!)).toBe(100);
    }
    // Booted with what it was handed out with.
    expect(await sh(vm.id, 'echo $WHO; hostname')).toBe(`${vm.name}\n${vm.name}`);
    const pooled = (await p.client.call('listVms', { query: {} })).items.filter((v) => v.state === 'pooled');
    expect(pooled.map((v) => v.id)).not.toContain(vm.id);
  }, 300_000);

  it('counts the hits, refills, and falls back to a cold boot that says so once empty', async () => {
    const pool = await p.client.call('getPool', { params: { id: 'warm' } });
    expect(pool).toMatchObject({ hits: 2, misses: 0, hitRate: 1 });
    await p.client.call('patchPool', { params: { id: 'warm' }, body: { size: 0 } });
    const cold = await p.client.call('createVm', {
      body: { name: 'gamma', pool: 'warm', env: { WHO: 'gamma' } },
    });
    expect(cold).toMatchObject({ pool: null, boot: { source: 'cold' } });
    const running = await p.client.call('waitVm', {
      params: { id: cold.id },
      query: { state: 'running', timeout: 240 },
    });
    expect(await sh(running.id, 'hostname')).toBe('gamma');
    expect(await sh(running.id, 'echo $WHO')).toBe('gamma');
    expect((await p.client.call('getPool', { params: { id: 'warm' } })).misses).toBe(1);
  }, 300_000);
});
