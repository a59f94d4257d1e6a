import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HearthError, type Vm } from '@hearth/contract';
import { tapName } from '@hearth/agent';
import { RUN_DIR_FILES } from '@hearth/vmm';
import { startPlatform, testVmm, type Platform } from '../helpers/platform.ts';
import { consoleSession, linkExists, pidAlive, until } from '../helpers/vm.ts';

// One real VM (QEMU microvm, TCG here) goes through its whole life; the steps depend on each other.
describe('VM lifecycle on a real VMM', () => {
  let p: Platform;
  let vm: Vm;
  const logs = () => p.client.call('vmLogs', { params: { id: 'life' }, query: { tail: 1 << 20 } });

  beforeAll(async () => {
    p = await startPlatform();
  });
  afterAll(async () => {
    await p?.dispose();
  });

  it('creates a VM that becomes running and shows a login prompt', async () => {
    const created = await p.client.call('createVm', {
      body: { name: 'life', memoryMib: 128, vmm: testVmm() },
    });
    expect(created.state).toBe('starting');
    expect(created.ip).toMatch(/^10\./);
    vm = await p.client.call('waitVm', {
      params: { id: created.id },
      query: { state: 'running', timeout: 120 },
    });
    expect(vm).toMatchObject({ state: 'running', vmm: testVmm() ?? 'qemu', vcpus: 1, memoryMib: 128 });
    expect(vm.accel).toMatch(/^(kvm|tcg)$/);
    expect(vm.pid).toBeGreaterThan(0);
    expect(pidAlive(vm.pid!)).toBe(true);
    expect(linkExists(tapName(vm.id))).toBe(true);
    expect(await logs()).toContain('hearth-guest: booted');
    // getty prints the prompt just after the boot marker
    await until('login prompt', async () => /life login:/.test(await logs()));
  });

  it('lists the VM with host, VMM and uptime', async () => {
    const page = await p.client.call('listVms', { query: {} });
    const row = page.items.find((v) => v.id === vm.id)!;
    expect(row.host).toBe(p.agent!.hostId);
    expect(row.uptimeSeconds).toBeGreaterThanOrEqual(0);
    const byName = await p.client.call('getVm', { params: { id: 'life' } });
    expect(byName.id).toBe(vm.id);
  });

  it('refuses to start a running VM with 409 VM_INVALID_STATE', async () => {
    const err = await p.client.call('startVm', { params: { id: vm.id } }).catch((e: HearthError) => e);
    expect(err).toBeInstanceOf(HearthError);
    expect((err as HearthError).code).toBe('VM_INVALID_STATE');
    expect((err as HearthError).status).toBe(409);
  });

  it('pauses and resumes', async () => {
    await p.client.call('pauseVm', { params: { id: vm.id } });
    const paused = await p.client.call('waitVm', {
      params: { id: vm.id },
      query: { state: 'paused', timeout: 30 },
    });
    expect(paused.state).toBe('paused');
    expect(p.agent!.supervisor.status(vm.id).phase).toBe('paused');
    await p.client.call('resumeVm', { params: { id: vm.id } });
    const resumed = await p.client.call('waitVm', {
      params: { id: vm.id },
      query: { state: 'running', timeout: 30 },
    });
    expect(resumed.state).toBe('running');
  });

  it('stops gracefully: the guest shutdown appears in its log, the VMM exits and the TAP goes', async () => {
    const pid = vm.pid!;
    await p.client.call('stopVm', { params: { id: vm.id }, body: { timeoutSeconds: 60 } });
    const stopped = await p.client.call('waitVm', {
      params: { id: vm.id },
      query: { state: 'stopped', timeout: 90 },
    });
    expect(stopped.stateReason).toBe('the guest shut down');
    expect(stopped.pid).toBeNull();
    expect(pidAlive(pid)).toBe(false);
    expect(linkExists(tapName(vm.id))).toBe(false);
    const text = await logs();
    // Asked through the guest agent (ACPI is the fallback for guests without one): init's
    // shutdown script ran, so the filesystems were synced, not cut off.
    expect(text).toContain('hearth-guest: shutting down');
    expect(text).toContain('hearth-guest: filesystems synced');
  });

  it('refuses to pause a stopped VM', async () => {
    const err = (await p.client.call('pauseVm', { params: { id: vm.id } }).catch((e) => e)) as HearthError;
    expect(err.code).toBe('VM_INVALID_STATE');
    expect(err.detail).toMatchObject({ state: 'stopped', action: 'pause' });
  });

  it('starts again on the same disk, then restarts', async () => {
    await p.client.call('startVm', { params: { id: vm.id } });
    const again = await p.client.call('waitVm', {
      params: { id: vm.id },
      query: { state: 'running', timeout: 120 },
    });
    expect(again.pid).not.toBe(vm.pid);
    await p.client.call('restartVm', { params: { id: vm.id } });
    // restart passes through stopping/stopped/starting; wait for the final running with a new pid
    let after = await p.client.call('waitVm', {
      params: { id: vm.id },
      query: { state: 'running', timeout: 120 },
    });
    for (let i = 0; after.pid === again.pid && i < 100; i++) {
      after = await p.client.call('waitVm', {
        params: { id: vm.id },
        query: { state: 'running', timeout: 120 },
      });
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(after.pid).not.toBe(again.pid);
    vm = after;
    const text = await logs();
    expect(text.match(/hearth-guest: booted/g)!.length).toBe(3);
  });

  it('forces a stop when asked', async () => {
    await p.client.call('stopVm', { params: { id: vm.id }, body: { force: true } });
    const stopped = await p.client.call('waitVm', {
      params: { id: vm.id },
      query: { state: 'stopped', timeout: 30 },
    });
    expect(stopped.stateReason).toBe('stopped by force');
    await p.client.call('startVm', { params: { id: vm.id } });
    vm = await p.client.call('waitVm', { params: { id: vm.id }, query: { state: 'running', timeout: 120 } });
  });

  it('boots the guest again when it reboots itself, on the same disk', { timeout: 420_000 }, async () => {
    const con = await consoleSession(join(p.dir, 'agent', 'vms', vm.id, RUN_DIR_FILES.consoleSocket));
    try {
      await con.login();
      con.send('echo kept > /root/marker && sync && reboot\n');
    } finally {
      con.close();
    }
    const before = vm.pid;
    await until(
      'VM rebooted with a new VMM process and a rebooted event',
      async () => {
        const now = await p.client.call('getVm', { params: { id: vm.id } });
        if (now.state !== 'running' || now.pid === before) return false;
        const events = await p.client.call('vmEvents', { params: { id: vm.id }, query: { limit: 500 } });
        return events.items.some((e) => e.type === 'rebooted');
      },
      300_000,
    );
    vm = await p.client.call('getVm', { params: { id: vm.id } });
    const con2 = await consoleSession(join(p.dir, 'agent', 'vms', vm.id, RUN_DIR_FILES.consoleSocket));
    try {
      await con2.login();
      con2.send('cat /root/marker\n');
      await con2.expect(/\r\nkept\r\n/);
    } finally {
      con2.close();
    }
  });

  it('records every transition as an event', async () => {
    const events = await p.client.call('vmEvents', { params: { id: vm.id }, query: { limit: 500 } });
    const path = events.items.filter((e) => e.type === 'state').map((e) => `${e.from}>${e.to}`);
    expect(path.slice(0, 2)).toEqual(['creating>starting', 'starting>running']);
    for (const step of [
      'running>pausing',
      'pausing>paused',
      'paused>resuming',
      'running>stopping',
      'stopping>stopped',
      'stopped>starting',
    ]) {
      expect(path).toContain(step);
    }
    expect(events.items.every((e) => e.actor && e.at)).toBe(true);
  });

  it('removes the VMM process, run directory, disk, TAP and records on delete', async () => {
    const pid = vm.pid!;
    const runDir = join(p.dir, 'agent', 'vms', vm.id);
    expect(existsSync(join(runDir, RUN_DIR_FILES.disk))).toBe(true);
    await p.client.call('deleteVm', { params: { id: vm.id } });
    const gone = await p.client
      .call('waitVm', { params: { id: vm.id }, query: { state: 'stopped', timeout: 60 } })
      .catch((e: HearthError) => e);
    expect((gone as HearthError).code).toBe('VM_NOT_FOUND');
    expect(pidAlive(pid)).toBe(false);
    expect(existsSync(runDir)).toBe(false);
    expect(linkExists(tapName(vm.id))).toBe(false);
    const err = (await p.client
      .call('vmEvents', { params: { id: vm.id }, query: {} })
      .catch((e) => e)) as HearthError;
    expect(err.code).toBe('VM_NOT_FOUND');
    const rows = await p.manager.db.query('SELECT 1 FROM vm_events WHERE vm_id = $1', [vm.id]);
    expect(rows).toHaveLength(0);
  });
});
