import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pidAlive } from '@hearth/vmm';
import {
  allocateUid,
  cleanupJail,
  JAILER_DEFAULTS,
  jailerArgs,
  jailId,
  jailLayout,
  prepareJail,
} from './jailer.ts';

describe('jailer', () => {
  let dir: string;
  const cfg = () => ({
    ...JAILER_DEFAULTS,
    binary: '/usr/bin/jailer',
    chrootBase: join(dir, 'jail'),
    cgroupRoot: join(dir, 'cg'),
  });
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearth-jail-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('maps VM ids to jailer ids (letters, digits, -)', () => {
    expect(jailId('vm_01abc')).toBe('vm-01abc');
    expect(() => jailId('x'.repeat(65))).toThrow(/cannot be a jailer id/);
  });

  it('builds the argv: own uid/gid, chroot base, new pid ns, cgroup v2 limits, netns, firecracker args last', () => {
    const layout = jailLayout('/data/vms/vm_a', cfg(), '/usr/bin/firecracker', 'vm_a', 900_007);
    expect(layout.root).toBe(join(dir, 'jail', 'firecracker', 'vm-a', 'root'));
    expect(layout.jail?.cgroup).toBe(join(dir, 'cg', 'firecracker', 'vm-a'));
    const args = jailerArgs({
      binary: '/usr/bin/jailer',
      exec: '/usr/bin/firecracker',
      layout,
      parentCgroup: 'firecracker',
      vcpus: 2,
      memoryMib: 256,
      netns: '/var/run/netns/vm-a',
      firecrackerArgs: ['--api-sock', 'api.sock'],
    });
    expect(args).toEqual([
      '--id', 'vm-a',
      '--exec-file', '/usr/bin/firecracker',
      '--uid', '900007',
      '--gid', '900007',
      '--chroot-base-dir', join(dir, 'jail'),
      '--new-pid-ns',
      '--cgroup-version', '2',
      '--parent-cgroup', 'firecracker',
      '--cgroup', 'cpu.max=200000 100000',
      '--cgroup', `memory.max=${384 * 1024 * 1024}`,
      '--resource-limit', 'no-file=2048',
      '--netns', '/var/run/netns/vm-a',
      '--',
      '--api-sock', 'api.sock',
    ]); // prettier-ignore
    expect(args).not.toContain('--daemonize'); // stdout is the serial console we capture
  });

  it('fills the chroot with hard links owned by the VM uid, and cleans chroot and cgroup', async () => {
    const run = join(dir, 'vms', 'vm_b');
    await mkdir(run, { recursive: true });
    await writeFile(join(run, 'disk.raw'), 'disk');
    await writeFile(join(dir, 'vmlinux'), 'kernel');
    const layout = jailLayout(run, cfg(), '/usr/bin/firecracker', 'vm_b', 900_001);
    const staged = await prepareJail(layout, {
      kernel: join(dir, 'vmlinux'),
      initrd: null,
      disk: join(run, 'disk.raw'),
    });
    expect(staged).toEqual({ kernel: 'vmlinux', initrd: null, disk: 'disk.raw', config: null });
    const disk = await stat(join(layout.root, 'disk.raw'));
    expect(disk.ino).toBe((await stat(join(run, 'disk.raw'))).ino); // a link, never a copy
    expect(disk.uid).toBe(900_001);
    expect((await stat(layout.metricsFifo)).isFIFO()).toBe(true);
    expect((await stat(layout.root)).uid).toBe(900_001);
    expect(
      await allocateUid(
        { ...cfg(), uidRange: [900_000, 900_002] },
        '/usr/bin/firecracker',
        new Set([900_000]),
      ),
    ).toBe(900_002);
    await mkdir(layout.jail!.cgroup!, { recursive: true });
    await cleanupJail(layout);
    expect(existsSync(join(layout.root, '..'))).toBe(false);
    expect(existsSync(layout.jail!.cgroup!)).toBe(false);
    expect(await readFile(join(run, 'disk.raw'), 'utf8')).toBe('disk'); // the VM's disk survives
    await cleanupJail(layout); // idempotent: leftovers already gone
  });

  it('puts the configuration disk in as a copy owned by the VM uid; the agent keeps its own', async () => {
    const run = join(dir, 'vms', 'vm_d');
    await mkdir(run, { recursive: true });
    await writeFile(join(run, 'disk.raw'), 'disk');
    await writeFile(join(run, 'config.raw'), 'config', { mode: 0o600 });
    await writeFile(join(dir, 'vmlinux'), 'kernel');
    const layout = jailLayout(run, cfg(), '/usr/bin/firecracker', 'vm_d', 900_004);
    const staged = await prepareJail(layout, {
      kernel: join(dir, 'vmlinux'),
      initrd: null,
      disk: join(run, 'disk.raw'),
      config: join(run, 'config.raw'),
    });
    expect(staged.config).toBe('config.raw');
    const inJail = await stat(join(layout.root, 'config.raw'));
    expect(inJail.ino).not.toBe((await stat(join(run, 'config.raw'))).ino);
    expect(inJail.uid).toBe(900_004);
    expect((await stat(join(run, 'config.raw'))).uid).toBe(0);
    await cleanupJail(layout);
  });

  it('kills what is left in a cgroup it cannot remove, and says so', async () => {
    const layout = jailLayout(join(dir, 'vms', 'vm_c'), cfg(), '/usr/bin/firecracker', 'vm_c', 900_003);
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    await mkdir(layout.jail!.cgroup!, { recursive: true });
    // A plain directory stands in for cgroupfs: rmdir fails while it has entries.
    await writeFile(join(layout.jail!.cgroup!, 'cgroup.procs'), `${child.pid}\n`);
    await expect(cleanupJail(layout)).rejects.toThrow(/removing the cgroup .* still has processes/);
    await new Promise((r) => setTimeout(r, 50));
    expect(pidAlive(child.pid!)).toBe(false);
  });
});
