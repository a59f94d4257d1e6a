import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vm } from '@hearth/contract';
import { confineRunDir } from '@hearth/qemu';
import { detectCgroups, RUN_DIR_FILES } from '@hearth/vmm';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { pidAlive, until } from '../helpers/vm.ts';

/** A field of /proc/PID/status. */
const status = (pid: number, field: string) =>
  new RegExp(`^${field}:[ \\t]*(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '';

/**
 * Runs argv as `uid` (and the same gid, no other group) in `cwd`, entered before the ids change,
 * as the agent starts a confined QEMU; returns its exit code and stderr.
 */
function runAs(uid: number, cwd: string, argv: string[]) {
  const r = spawnSync(argv[0]!, argv.slice(1), { uid, gid: uid, cwd, encoding: 'utf8' });
  return { code: r.status, stderr: r.stderr };
}

// One real VM: its QEMU runs as a uid of its own, under seccomp, in its own cgroup, and cannot
// read another VM's files; a guest that fills its disk stops at its size and leaves the host alone;
// the VM still boots, runs commands, stops and is deleted.
describe('QEMU confinement (real VM)', () => {
  let p: Platform;
  let vm: Vm;
  let uid: number;

  beforeAll(async () => {
    p = await startPlatform();
    const created = await p.client.call('createVm', {
      // A small disk: the disk-fill check below writes all of it, under TCG.
      body: { name: 'confined', memoryMib: 128, vmm: 'qemu', diskSize: '192mib' },
    });
    // The first boot on a fresh data directory prepares the image; a busy host can take minutes.
    for (;;) {
      vm = await p.client.call('getVm', { params: { id: created.id } });
      if (vm.state !== 'starting') break;
      await p.client
        .call('waitVm', { params: { id: created.id }, query: { state: 'running', timeout: 60 } })
        .catch(() => undefined);
    }
  }, 600_000);
  afterAll(async () => {
    await p?.dispose();
  });

  it('runs QEMU as an unprivileged uid of its own, with seccomp on', () => {
    expect(vm.state).toBe('running');
    const pid = vm.pid!;
    const [real, effective, saved] = status(pid, 'Uid').split(/\s+/).map(Number);
    uid = real!;
    expect(uid).toBeGreaterThan(0);
    expect([effective, saved]).toEqual([uid, uid]);
    expect(status(pid, 'Gid').split(/\s+/).map(Number)[0]).toBe(uid);
    expect(status(pid, 'Groups').trim()).toBe('');
    expect(status(pid, 'Seccomp')).toBe('2');
    expect(status(pid, 'NoNewPrivs')).toBe('1');
  });

  it("keeps QEMU in the VM's own cgroup with its memory limit", async () => {
    const pid = vm.pid!;
    const host = await detectCgroups();
    const leaf = `vm-${vm.id}`;
    if (host.mode === 'none') {
      // Said in `hearth doctor`, never silently: the inventory carries the reason.
      const h = await p.client.call('getHost', { params: { id: p.agent!.hostId } });
      expect(h.inventory.checks.find((c) => c.name === 'vm-confinement')).toMatchObject({ ok: false });
      return;
    }
    const dir = host.mode === 'v2' ? join(host.parent, leaf) : join(host.memory, leaf);
    const procs = (await readFile(join(dir, 'cgroup.procs'), 'utf8')).split('\n');
    expect(procs).toContain(String(pid));
    const limit = await readFile(
      join(dir, host.mode === 'v2' ? 'memory.max' : 'memory.limit_in_bytes'),
      'utf8',
    );
    // 128 MiB guest + the VMM's own overhead, nothing like "max".
    expect(Number(limit)).toBeGreaterThanOrEqual(128 * 2 ** 20);
    expect(Number(limit)).toBeLessThan(1024 * 2 ** 20);
    if (host.mode === 'v1') {
      const cpu = await readFile(join(host.cpu, leaf, 'cpu.cfs_quota_us'), 'utf8');
      expect(Number(cpu)).toBe(100_000);
    }
  });

  it("cannot read another VM's disk, nor its own VM's spec or the agent's files", async () => {
    // Another VM's run directory, prepared exactly as the agent prepares one for its QEMU.
    const other = join(p.dir, 'agent', 'vms', 'vm_otherconfined');
    await mkdir(other, { recursive: true });
    const f = (n: string) => join(other, n);
    await writeFile(f(RUN_DIR_FILES.disk), 'another tenant\n');
    await writeFile(f('kernel'), 'k');
    await confineRunDir(
      {
        vmId: 'vm_otherconfined',
        runDir: other,
        vcpus: 1,
        memoryMib: 64,
        kernelPath: f('kernel'),
        initrdPath: null,
        diskPath: f(RUN_DIR_FILES.disk),
        cmdline: '',
        consoleLogPath: f(RUN_DIR_FILES.consoleLog),
        tap: null,
        guestSocketPath: f(RUN_DIR_FILES.guestSocket),
      },
      { uid: uid + 1, gid: uid + 1, cgroupProcs: [] },
    );
    // The other VM's own uid can (the check below is not refused for a trivial reason).
    expect(runAs(uid + 1, other, ['cat', RUN_DIR_FILES.disk]).code).toBe(0);
    // Even started inside the other VM's run directory, this VM's uid reads nothing there.
    const denied = runAs(uid, other, ['cat', RUN_DIR_FILES.disk]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/Permission denied/);
    // Nor its own VM's spec (guest secret), even through its own run directory.
    const own = join(p.dir, 'agent', 'vms', vm.id);
    expect(runAs(uid, own, ['cat', RUN_DIR_FILES.spec]).stderr).toMatch(/Permission denied/);
    expect(runAs(uid, own, ['cat', f(RUN_DIR_FILES.disk)]).stderr).toMatch(/Permission denied/);
    expect(runAs(uid, own, ['cat', join(p.dir, 'agent', 'agent.json')]).stderr).toMatch(/Permission denied/);
  });

  it('lets a guest fill its disk: ENOSPC at its size, the disk file no bigger, the host unaffected', async () => {
    const sh = (script: string) =>
      p.client.call('execVm', {
        params: { id: vm.id },
        body: { command: ['sh', '-c', script], timeoutMs: 300_000 },
      });
    const declared = vm.diskMib * 2 ** 20;
    const freeKib = async () => {
      const r = await sh('df -k / | tail -n 1');
      return Number(r.stdout.trim().split(/\s+/)[3]);
    };
    const fill = await sh('dd if=/dev/zero of=/fill bs=1M; echo "dd=$?"; sync; ls -ln /fill');
    // dd stops at the disk's end with ENOSPC, having written most of it.
    expect(fill.stderr).toMatch(/No space left on device/);
    expect(fill.stdout).toMatch(/^dd=1$/m);
    const written = Number(/^\S+\s+\d+\s+\d+\s+\d+\s+(\d+)/m.exec(fill.stdout)![1]);
    expect(written).toBeGreaterThan(declared / 2);
    expect(written).toBeLessThan(declared);
    expect(await freeKib()).toBeLessThan(1024);
    // On the host, the VM's sparse disk file is allocated no further than its declared size.
    const disk = await stat(join(p.dir, 'agent', 'vms', vm.id, RUN_DIR_FILES.disk));
    expect(disk.size).toBe(declared);
    expect(disk.blocks * 512).toBeLessThanOrEqual(declared);
    // The host answers as before, and so does this VM.
    const hosts = await p.client.call('listHosts', {});
    expect(hosts.items.find((h) => h.id === p.agent!.hostId)).toMatchObject({ state: 'ready' });
    expect(await sh('echo still here')).toMatchObject({ exitCode: 0, stdout: 'still here\n' });
    // Deleting the file gives the space back.
    expect((await sh('rm /fill && sync')).exitCode).toBe(0);
    expect(await freeKib()).toBeGreaterThan(written / 1024 / 2);
  });

  it('still runs commands, then stops and is deleted with its cgroup', async () => {
    const r = await p.client.call('execVm', {
      params: { id: vm.id },
      body: { command: ['echo', 'confined'] },
    });
    expect(r).toMatchObject({ exitCode: 0, stdout: 'confined\n' });
    const pid = vm.pid!;
    await p.client.call('stopVm', { params: { id: vm.id }, body: { timeoutSeconds: 30 } });
    await p.client.call('waitVm', { params: { id: vm.id }, query: { state: 'stopped', timeout: 60 } });
    await until('the VMM gone', () => Promise.resolve(!pidAlive(pid)));
    const host = await detectCgroups();
    const dir =
      host.mode === 'v2'
        ? join(host.parent, `vm-${vm.id}`)
        : host.mode === 'v1'
          ? join(host.memory, `vm-${vm.id}`)
          : null;
    if (dir) expect(existsSync(dir)).toBe(false);
    await p.client.call('deleteVm', { params: { id: vm.id } });
    await until('the run directory gone', () =>
      Promise.resolve(!existsSync(join(p.dir, 'agent', 'vms', vm.id))),
    );
  });
});
