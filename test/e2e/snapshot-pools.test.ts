import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool, Vm } from '@hearth/contract';
import { expectCode } from '../helpers/expect.ts';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { until } from '../helpers/vm.ts';

// A snapshot pool on real VMs: one VM boots and is snapshotted, the others are restored from that
// snapshot. Restored VMs start on the same memory, generator state and disk; a hand-out must still
// give each its own name, credentials, env, machine-id and random bytes.
let p: Platform;
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAISnapshotPoolTestKeyOnlyForTheSuite0000000000 snap@hearth';

const sh = async (vm: string, command: string) =>
  (await p.client.call('execVm', { params: { id: vm }, body: { command } })).stdout.trim();
const pool = () => p.client.call('getPool', { params: { id: 'snap' } });
const members = async () =>
  (await p.client.call('listVms', { query: {} })).items.filter(
    (v) => v.pool === 'snap' && v.boot?.source !== 'pool',
  );

/** The pool has `n` VMs waiting, every one restored from its snapshot. */
async function restoredReady(n: number): Promise<Pool> {
  let last: Pool | null = null;
  await until(
    `${n} restored VMs waiting`,
    async () => {
      last = await pool();
      const waiting = await members();
      return (
        last.ready === n &&
        last.snapshot !== null &&
        waiting.length === n &&
        waiting.every((v) => v.state === 'pooled' && v.snapshot === last!.snapshot)
      );
    },
    300_000,
  ).catch(async (e: Error) => {
    const vms = (await members()).map((v) => [v.name, v.state, v.snapshot, v.stateReason]);
    throw new Error(`${e.message}; pool ${JSON.stringify(last)}; VMs ${JSON.stringify(vms)}`);
  });
  return last!;
}

beforeAll(async () => {
  p = await startPlatform();
}, 600_000);
afterAll(async () => {
  await p?.dispose();
});

describe('snapshot pools (real VMs)', () => {
  let snapshot = '';
  const made: Vm[] = [];

  it('boots one VM, snapshots it, and restores the rest of the pool from it', async () => {
    const created = await p.client.call('createPool', { body: { name: 'snap', size: 2, mode: 'snapshot' } });
    expect(created).toMatchObject({ mode: 'snapshot', snapshot: null });
    // One boot and one restore in a row, on a shared 2-core machine.
    await until(
      'the pool snapshot and two VMs waiting',
      async () => {
        const now = await pool();
        return now.snapshot !== null && now.ready === 2;
      },
      600_000,
    ).catch(async (e: Error) => {
      const vms = (await members()).map((v) => [v.name, v.state, v.snapshot, v.stateReason]);
      throw new Error(`${e.message}; pool ${JSON.stringify(await pool())}; VMs ${JSON.stringify(vms)}`);
    });
    const snap = await p.client.call('getSnapshot', { params: { id: (await pool()).snapshot! } });
    snapshot = snap.id;
    // The booted VM stays in the pool; its place is taken by a restored one here so that both
    // VMs handed out below come from the snapshot.
    const booted = (await members()).filter((v) => v.snapshot === null);
    expect(booted.map((v) => v.id)).toEqual([snap.vm]);
    await p.client.call('deleteVm', { params: { id: snap.vm! } });
    await restoredReady(2);
  }, 900_000);

  it('hands out two restored VMs, each with its own name, credentials, env, machine-id and random bytes', async () => {
    const out = await Promise.all(
      ['snap-a', 'snap-b'].map((name) =>
        p.client.call('createVm', {
          body: { name, pool: 'snap', env: { WHO: name }, user: 'alice', sshKeys: [KEY] },
        }),
      ),
    );
    made.push(...out);
    for (const vm of made) {
      expect(vm).toMatchObject({ state: 'running', pool: 'snap', snapshot, boot: { source: 'pool' } });
      expect(await sh(vm.id, 'hostname')).toBe(vm.name);
      expect(await sh(vm.id, 'cat /etc/hostname')).toBe(vm.name);
      expect(await sh(vm.id, 'echo $WHO')).toBe(vm.name);
      expect(await sh(vm.id, 'id -un alice')).toBe('alice');
      expect(await sh(vm.id, 'cat /home/alice/.ssh/authorized_keys')).toContain(KEY);
      expect(await sh(vm.id, 'ip -4 -o addr show')).toContain(`${vm.ip}/`);
    }
    expect(made[0]!.ip).not.toBe(made[1]!.ip);
    // Same memory, same disk: only the hand-out's reseed and new machine-id tell them apart.
    const ids = await Promise.all(made.map((vm) => sh(vm.id, 'cat /etc/machine-id')));
    expect(ids[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(ids[0]).not.toBe(ids[1]);
    // Not proof of the reseed on its own: with the reseed switched off in the guest these two reads
    // still differed here (the 6.1 kernel's generator state diverged between the two VMs anyway);
    // the reseed itself is checked on the request (restore-support.test.ts, personalize_test.go).
    const rand = await Promise.all(made.map((vm) => sh(vm.id, 'head -c 32 /dev/urandom | od -An -tx1')));
    expect(rand[0]).toMatch(/[0-9a-f]{2}/);
    expect(rand[0]).not.toBe(rand[1]);
  }, 120_000);

  it('refills by restoring, and deleting the pool removes its snapshot and waiting VMs only', async () => {
    expect(await pool()).toMatchObject({ hits: 2, misses: 0 });
    await restoredReady(2);
    const waiting = (await members()).map((v) => v.id);
    await p.client.call('deletePool', { params: { id: 'snap' } });
    await expectCode(() => p.client.call('getSnapshot', { params: { id: snapshot } }), 'SNAPSHOT_NOT_FOUND');
    expect(existsSync(join(p.dir, 'agent', 'snapshots', snapshot))).toBe(false);
    await until(
      'the waiting VMs gone',
      async () => {
        const ids = new Set((await p.client.call('listVms', { query: {} })).items.map((v) => v.id));
        return waiting.every((id) => !ids.has(id));
      },
      120_000,
    );
    for (const vm of made)
      expect((await p.client.call('getVm', { params: { id: vm.id } })).state).toBe('running');
  }, 320_000);
});
