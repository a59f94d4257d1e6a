import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vm } from '@hearth/contract';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { expectCode } from '../helpers/expect.ts';
import { cli } from '../helpers/proc.ts';

// Snapshots on real QEMU VMs: memory + devices + disk, restored in place and as clones.
let p: Platform;
let src: Vm;
let sleeperPid = '';
let bootId = '';

const sh = async (vm: string, command: string) => {
  const r = await p.client.call('execVm', { params: { id: vm }, body: { command } });
  expect(r.stderr).toBe('');
  return r.stdout.trim();
};
const running = (id: string) =>
  p.client.call('waitVm', { params: { id }, query: { state: 'running', timeout: 120 } });

beforeAll(async () => {
  p = await startPlatform();
  const vm = await p.client.call('createVm', { body: { name: 'snap-src' } });
  src = await running(vm.id);
}, 180_000);
afterAll(async () => {
  await p?.dispose();
});

describe('snapshots (real VMs)', () => {
  it('snapshots a running VM, which keeps running', async () => {
    await sh(src.id, 'echo before > /root/state && sync');
    sleeperPid = await sh(src.id, 'sleep 100000 >/dev/null 2>&1 & echo $!');
    bootId = await sh(src.id, 'cat /proc/sys/kernel/random/boot_id');
    const snap = await p.client.call('createSnapshot', { params: { id: src.id }, body: { name: 'snap1' } });
    expect(snap).toMatchObject({
      name: 'snap1',
      state: 'ready',
      vm: src.id,
      vmm: 'qemu',
      type: 'full',
      parent: null,
    });
    expect(snap.sizeBytes).toBeGreaterThan(1024 * 1024);
    expect(snap.vmmVersion).toMatch(/^\d+\.\d+/);
    expect((await p.client.call('getVm', { params: { id: src.id } })).state).toBe('running');
    expect(await sh(src.id, 'cat /root/state')).toBe('before');
  });

  it('refuses a diff snapshot on QEMU with the reason, recording and pausing nothing', async () => {
    const before = await p.client.call('listSnapshots', { query: { vm: src.id } });
    const e = await expectCode(
      () =>
        p.client.call('createSnapshot', { params: { id: src.id }, body: { name: 'diff1', type: 'diff' } }),
      'SNAPSHOT_TYPE_UNSUPPORTED',
      422,
    );
    expect(e.message).toContain('qemu cannot take a diff snapshot');
    expect(e.hint).toContain('full snapshot');
    expect(e.detail).toMatchObject({
      vmm: 'qemu',
      type: 'diff',
      reason: expect.stringContaining('migration stream'),
    });
    const after = await p.client.call('listSnapshots', { query: { vm: src.id } });
    expect(after.items.map((x) => x.id)).toEqual(before.items.map((x) => x.id));
    expect((await p.client.call('getVm', { params: { id: src.id } })).state).toBe('running');
  });

  it('restores in place: the disk and a running process are back, it is the same boot', async () => {
    await sh(src.id, `echo after > /root/state && touch /root/new && kill ${sleeperPid} && sync`);
    const accepted = await p.client.call('restoreVm', {
      params: { id: src.id },
      body: { snapshot: 'snap1' },
    });
    expect(accepted.state).toBe('starting');
    const back = await running(src.id);
    expect(back.snapshot).toBeTruthy();
    expect(await sh(src.id, 'cat /root/state')).toBe('before');
    expect(await sh(src.id, 'ls /root/new 2>/dev/null || echo absent')).toBe('absent');
    // Memory state is real: the process killed after the snapshot runs again, in the same boot.
    expect(await sh(src.id, `kill -0 ${sleeperPid} && echo alive`)).toBe('alive');
    expect(await sh(src.id, 'cat /proc/sys/kernel/random/boot_id')).toBe(bootId);
    // The clock was resynced from the host, not left at the snapshot's instant.
    const guestNow = Number(await sh(src.id, 'date +%s'));
    expect(Math.abs(guestNow - Date.now() / 1000)).toBeLessThan(5);
    // The host's steps of the restore are on the agent's status, in order.
    const steps = p.agent!.supervisor.status(src.id).bootSteps ?? [];
    expect(steps.map((s) => s.name)).toEqual(['disk', 'config', 'network', 'load', 'resume', 'identity']);
    expect(steps.every((s) => s.ms >= 0)).toBe(true);
  });

  it('clones into a new VM with its own name and address, independent of the original', async () => {
    const clone = await p.client.call('cloneSnapshot', {
      params: { id: 'snap1' },
      body: { name: 'snap-clone' },
    });
    expect(clone.ip).not.toBe(src.ip);
    const up = await running(clone.id);
    expect(up.snapshot).toBeTruthy();
    expect(await sh(clone.id, 'hostname')).toBe('snap-clone');
    expect(await sh(clone.id, 'cat /etc/hostname')).toBe('snap-clone');
    expect(Math.abs(Number(await sh(clone.id, 'date +%s')) - Date.now() / 1000)).toBeLessThan(5);
    expect(await sh(clone.id, 'ip -o -4 addr show eth0')).toContain(`${clone.ip}/`);
    expect(await sh(clone.id, 'cat /root/state')).toBe('before');
    expect(await sh(clone.id, 'cat /proc/sys/kernel/random/boot_id')).toBe(bootId);
    await sh(clone.id, 'echo clone > /root/clone-only && sync');
    await sh(src.id, 'echo src > /root/src-only && sync');
    expect(await sh(src.id, 'ls /root/clone-only 2>/dev/null || echo absent')).toBe('absent');
    expect(await sh(clone.id, 'ls /root/src-only 2>/dev/null || echo absent')).toBe('absent');
    // Both reach each other on the bridge with their own addresses (distinct MACs).
    expect(await sh(clone.id, `ping -c 1 -W 5 ${src.ip} >/dev/null && echo ok`)).toBe('ok');

    // Lineage: a snapshot of the clone names snap1 as its parent.
    const child = await p.client.call('createSnapshot', {
      params: { id: clone.id },
      body: { name: 'snap2' },
    });
    expect(child.parent).toBe((await p.client.call('getSnapshot', { params: { id: 'snap1' } })).id);
    expect((await p.client.call('getSnapshot', { params: { id: 'snap1' } })).children).toEqual([child.id]);
    const list = await p.client.call('listSnapshots', { query: {} });
    expect(list.items.map((s) => s.name)).toEqual(['snap2', 'snap1']);
    expect(
      (await p.client.call('listSnapshots', { query: { vm: clone.id } })).items.map((s) => s.name),
    ).toEqual(['snap2']);
  });

  it('refuses what cannot work, clearly', async () => {
    await expectCode(() => p.client.call('getSnapshot', { params: { id: 'nope' } }), 'SNAPSHOT_NOT_FOUND');
    await expectCode(
      () => p.client.call('restoreVm', { params: { id: src.id }, body: { snapshot: 'snap2' } }),
      'VALIDATION_FAILED',
    );
    await expectCode(
      () => p.client.call('createSnapshot', { params: { id: src.id }, body: { name: 'snap1' } }),
      'SNAPSHOT_NAME_TAKEN',
    );
    // A VM resized since its snapshot cannot load it (the saved memory has the old size).
    await p.client.call('stopVm', { params: { id: src.id }, body: {} });
    await p.client.call('waitVm', { params: { id: src.id }, query: { state: 'stopped', timeout: 90 } });
    await p.client.call('patchVm', { params: { id: src.id }, body: { memoryMib: 192 } });
    const resized = await expectCode(
      () => p.client.call('restoreVm', { params: { id: src.id }, body: { snapshot: 'snap1' } }),
      'SNAPSHOT_INCOMPATIBLE',
    );
    expect(resized.message).toMatch(/resized since snapshot snap1/);
    const stopped = await p.client.call('createVm', { body: { name: 'snap-stopped', start: false } });
    await expectCode(
      () => p.client.call('createSnapshot', { params: { id: stopped.id }, body: {} }),
      'VM_INVALID_STATE',
    );
    // The image a snapshot depends on changed: restore is refused and nothing is created.
    const snap = await p.client.call('getSnapshot', { params: { id: 'snap1' } });
    const [img] = await p.manager.db.query<{ sha256: string }>('SELECT sha256 FROM images WHERE id = $1', [
      snap.image,
    ]);
    await p.manager.db.query('UPDATE images SET sha256 = $2 WHERE id = $1', [snap.image, 'f'.repeat(64)]);
    try {
      const e = await expectCode(
        () => p.client.call('cloneSnapshot', { params: { id: 'snap1' }, body: { name: 'never' } }),
        'SNAPSHOT_INCOMPATIBLE',
      );
      expect(e.message).toMatch(/image .* changed/);
      await expectCode(() => p.client.call('getVm', { params: { id: 'never' } }), 'VM_NOT_FOUND');
    } finally {
      await p.manager.db.query('UPDATE images SET sha256 = $2 WHERE id = $1', [snap.image, img!.sha256]);
    }
  });

  it('deletes a snapshot without touching the VMs made from it', async () => {
    const del = await p.client.call('deleteSnapshot', { params: { id: 'snap1' } });
    expect(del.name).toBe('snap1');
    await expectCode(() => p.client.call('getSnapshot', { params: { id: 'snap1' } }), 'SNAPSHOT_NOT_FOUND');
    expect(await sh('snap-clone', 'cat /root/state')).toBe('before');
    expect((await p.client.call('getSnapshot', { params: { id: 'snap2' } })).parent).toBeNull();
  });

  it('works from the CLI: create, list, restore in place, clone, delete', async () => {
    const env = { HEARTH_URL: p.manager.url, HEARTH_TOKEN: p.manager.adminToken };
    const made = await cli(['snapshot', 'create', 'snap-clone', '--name', 'snap3'], env);
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/snapshot snap3 \(snap_\w+\) of snap-clone/);
    const ls = await cli(['snapshot', 'ls'], env);
    expect(ls.stdout).toMatch(/^NAME\s+ID\s+VM\s+KIND\s+STATE\s+SIZE/);
    expect(ls.stdout).toMatch(/snap3\s+snap_\w+\s+snap-clone\s+memory\s+ready/);
    const inPlace = await cli(['snapshot', 'restore', 'snap3'], env);
    expect(inPlace.code).toBe(0);
    expect(inPlace.stdout).toContain('snap-clone');
    expect(inPlace.stdout).toContain('is running');
    const cloned = await cli(['--json', 'create', '--snapshot', 'snap3', '--name', 'snap-cli-clone'], env);
    expect(cloned.code).toBe(0);
    expect(JSON.parse(cloned.stdout)).toMatchObject({ name: 'snap-cli-clone', state: 'running' });
    expect(await sh('snap-cli-clone', 'hostname')).toBe('snap-cli-clone');
    const del = await cli(['snapshot', 'rm', 'snap3'], env);
    expect(del.stdout).toContain('deleted snapshot snap3');
    const missing = await cli(['snapshot', 'rm', 'snap3'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('SNAPSHOT_NOT_FOUND');
  });

  it('refuses to restore a snapshot whose image was deleted, and creates nothing', async () => {
    // An image of our own (the base rootfs with another label, so another digest), used once.
    const base = await p.client.call('getImage', { params: { id: 'base' } });
    const copy = join(p.dir, 'own.ext4');
    copyFileSync(base.path, copy);
    execFileSync('e2label', [copy, 'own-root']);
    const bytes = readFileSync(copy);
    const img = await p.client.call('createImage', {
      body: { name: 'own-root', sha256: createHash('sha256').update(bytes).digest('hex') },
    });
    await p.client.raw(
      'uploadImageContent',
      { params: { id: img.id } },
      { body: new Uint8Array(bytes), headers: { 'content-type': 'application/octet-stream' } },
    );
    const vm = await p.client.call('createVm', { body: { name: 'own-vm', image: 'own-root' } });
    await running(vm.id);
    await p.client.call('createSnapshot', { params: { id: vm.id }, body: { name: 'own-snap' } });
    await p.client.call('deleteVm', { params: { id: vm.id } });
    await p.manager.vmService.drain();
    await p.client.call('deleteImage', { params: { id: 'own-root' } });
    const e = await expectCode(
      () => p.client.call('cloneSnapshot', { params: { id: 'own-snap' }, body: { name: 'own-clone' } }),
      'SNAPSHOT_INCOMPATIBLE',
    );
    expect(e.message).toMatch(/its image \(img_\w+\) has been deleted/);
    await expectCode(() => p.client.call('getVm', { params: { id: 'own-clone' } }), 'VM_NOT_FOUND');
  });

  it('finishes an in-place restore that a manager restart interrupted, as a restore', async () => {
    const snap2 = await p.client.call('getSnapshot', { params: { id: 'snap2' } });
    await sh('snap-clone', 'echo later > /root/after-snap2 && sync');
    // The manager died right after accepting the restore, before the agent heard of it.
    await p.manager.db.query(
      `UPDATE vms SET state = 'starting', state_reason = $1, snapshot_id = $2 WHERE name = $3`,
      ['restoring snapshot snap2', snap2.id, 'snap-clone'],
    );
    await p.manager.dispose();
    await p.startManager();
    const back = await running('snap-clone');
    expect(back.stateReason).toBeNull();
    expect(await sh('snap-clone', 'ls /root/after-snap2 2>/dev/null || echo absent')).toBe('absent');
  });
});
