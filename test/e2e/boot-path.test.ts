import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vm } from '@hearth/contract';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { until } from '../helpers/vm.ts';

// The boot path on one real VM: its boot profile, configuration from the read-only config disk,
// the root grown by the guest, restarts, and a guest that corrupts its own root filesystem and
// reboots (the host must never run filesystem tools on a disk the guest has written).

const HOST_STEPS = ['disk', 'config', 'network', 'launch', 'kernel', 'agent'];
/** Every ext4 tool the agent could run, wrapped to record what it was run on. */
const FS_TOOLS = ['debugfs', 'e2fsck', 'resize2fs', 'tune2fs', 'dumpe2fs', 'fsck.ext4'];

describe('boot path on a real VM', () => {
  let p: Platform;
  let vm: Vm;
  const spy = mkdtempSync(join(tmpdir(), 'hearth-fs-spy-'));
  const spyLog = join(spy, 'calls.log');
  const oldPath = process.env.PATH;
  const exec = (command: string) => p.client.call('execVm', { params: { id: vm.id }, body: { command } });
  /** The fs tool runs that touched this VM's own disk (its run directory). */
  const toolRunsOnVmDisk = () =>
    (existsSync(spyLog) ? readFileSync(spyLog, 'utf8') : '')
      .split('\n')
      .filter((l) => l.includes(`/vms/${vm.id}/`));

  beforeAll(async () => {
    for (const tool of FS_TOOLS) {
      const f = join(spy, tool);
      writeFileSync(f, `#!/bin/sh\necho "${tool} $*" >> ${spyLog}\nexec /usr/sbin/${tool} "$@"\n`);
      chmodSync(f, 0o755);
    }
    // The agent runs in this process and finds its tools through PATH.
    process.env.PATH = `${spy}:${oldPath}`;
    p = await startPlatform();
    const created = await p.client.call('createVm', {
      body: { name: 'bootpath', memoryMib: 128, diskSize: '256mib', env: { FROM_CONFIG: 'yes' } },
    });
    vm = await p.client.call('waitVm', {
      params: { id: created.id },
      query: { state: 'running', timeout: 600 },
    });
  }, 660_000);
  afterAll(async () => {
    await p?.dispose();
    process.env.PATH = oldPath;
    rmSync(spy, { recursive: true, force: true });
  });

  it('records where the boot went: manager and host steps, in order, adding up to at most the total', async () => {
    const { boot } = await p.client.call('getVm', { params: { id: vm.id } });
    expect(boot).not.toBeNull();
    expect(boot!.source).toBe('cold');
    expect(boot!.steps.map((s) => s.name)).toEqual(['accept', 'place', ...HOST_STEPS]);
    const sum = boot!.steps.reduce((n, s) => n + s.ms, 0);
    expect(boot!.steps.every((s) => s.ms >= 0)).toBe(true);
    // Each step is rounded to a millisecond on its own.
    expect(sum).toBeLessThanOrEqual(boot!.totalMs + boot!.steps.length);
    expect(boot!.totalMs).toBeGreaterThan(0);
  });

  it('configures the guest from the read-only config disk, never from its root filesystem', async () => {
    const r = await exec(
      'hostname; echo "$FROM_CONFIG"; for d in /sys/block/vd*; do echo "$(basename $d) $(cat $d/serial 2>/dev/null) $(cat $d/ro)"; done; ls /etc/hearth/guest.json 2>&1',
    );
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('bootpath');
    expect(lines[1]).toBe('yes');
    expect(lines).toContainEqual(expect.stringMatching(/^vd[b-z] hearth-config 1$/));
    expect(r.stdout).toMatch(/guest\.json: No such file/);
    // Writes to it are refused by the guest's own kernel.
    const dev = lines.find((l) => l.includes('hearth-config'))!.split(' ')[0];
    const w = await exec(`echo x | dd of=/dev/${dev} 2>&1; echo rc=$?`);
    expect(w.stdout).not.toMatch(/rc=0/);
  });

  it('grows its root filesystem to the disk size online, with no resize2fs on the host', async () => {
    // The image is 64 MiB, the disk 256 MiB: the guest agent grows the mounted ext4 as it starts.
    await until('root grown', async () => {
      const df = await exec("df -k / | tail -1 | awk '{print $2}'");
      return Number(df.stdout.trim()) > 200 * 1024;
    });
    expect(toolRunsOnVmDisk()).toEqual([]);
  });

  it('restarts without touching the disk, and records a restart profile', async () => {
    await exec('echo kept > /root/marker; sync');
    await p.client.call('restartVm', { params: { id: vm.id } });
    await until(
      'restarted',
      async () => {
        const v = await p.client.call('getVm', { params: { id: vm.id } });
        return v.state === 'running' && v.boot?.source === 'restart';
      },
      120_000,
    );
    vm = await p.client.call('getVm', { params: { id: vm.id } });
    expect(vm.boot!.steps.map((s) => s.name)).toEqual(['accept', ...HOST_STEPS]);
    expect((await exec('cat /root/marker; hostname')).stdout).toBe('kept\nbootpath\n');
    expect(toolRunsOnVmDisk()).toEqual([]);
  });

  it('a guest that corrupts its own root filesystem and reboots: no host fs tool, failed with a reason, deletable', async () => {
    // Random bytes over the primary superblock and group descriptors, flushed, then an immediate
    // reset (no unmount, so the guest's kernel cannot write its own superblock back).
    const r = await exec(
      'dd if=/dev/urandom of=/dev/vda bs=1024 seek=1 count=8 conv=notrunc,fsync 2>&1 && (sleep 1; reboot -n -f) >/dev/null 2>&1 &',
    );
    expect(r.exitCode).toBe(0);
    let last: Vm | null = null;
    await until(
      'the VM failed or came back running after its reboot',
      async () => {
        last = await p.client.call('getVm', { params: { id: vm.id } });
        return last.state === 'failed' || (last.state === 'running' && last.startedAt !== vm.startedAt);
      },
      300_000,
    );
    const after = last as unknown as Vm;
    if (after.state === 'failed') expect(after.stateReason ?? '').not.toBe('');
    expect(toolRunsOnVmDisk()).toEqual([]);
    await p.client.call('deleteVm', { params: { id: vm.id } });
    await until(
      'deleted',
      async () =>
        await p.client.call('getVm', { params: { id: vm.id } }).then(
          () => false,
          () => true,
        ),
      120_000,
    );
    expect(toolRunsOnVmDisk()).toEqual([]);
  });
});
