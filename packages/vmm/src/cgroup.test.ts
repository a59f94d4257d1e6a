import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createVmCgroup,
  detectCgroups,
  removeVmCgroup,
  setVmCpuWeight,
  sweepEmptyVmCgroups,
  vmCgroupLimits,
  BACKGROUND_CPU_WEIGHT,
  NORMAL_CPU_WEIGHT,
} from './cgroup.ts';

// A temp directory stands in for /sys/fs/cgroup: the files the kernel would offer are made by hand.
describe('VM cgroups', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'hearth-cg-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('sizes limits from the VM: vCPUs x period, guest RAM plus overhead', () => {
    expect(vmCgroupLimits(2, 256, 192)).toEqual({
      cpuQuotaUs: 200_000,
      cpuPeriodUs: 100_000,
      memoryMaxBytes: 448 * 2 ** 20,
      ioWeight: 100,
      cpuWeight: 100,
    });
  });

  it('on cgroup v2: enables the controllers, makes hearth.slice/vm-<id> with cpu.max, memory.max, io.weight', async () => {
    await writeFile(join(root, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
    const host = await detectCgroups({ root });
    expect(host).toEqual({ mode: 'v2', parent: join(root, 'hearth.slice'), io: true });
    expect(await readFile(join(root, 'cgroup.subtree_control'), 'utf8')).toBe('+cpu +memory +io');
    const leaf = join(root, 'hearth.slice', 'vm-vm_1');
    // The kernel offers io.weight in a new cgroup when the io controller is on.
    await mkdir(leaf, { recursive: true });
    await writeFile(join(leaf, 'io.weight'), '');
    const procs = await createVmCgroup(host, 'vm_1', vmCgroupLimits(1, 128, 64));
    expect(procs).toEqual([join(leaf, 'cgroup.procs')]);
    expect(await readFile(join(leaf, 'cpu.max'), 'utf8')).toBe('100000 100000');
    expect(await readFile(join(leaf, 'memory.max'), 'utf8')).toBe(String(192 * 2 ** 20));
    expect(await readFile(join(leaf, 'io.weight'), 'utf8')).toBe('default 100');
  });

  it('sweeps the VM cgroups nothing is in, and leaves the others', async () => {
    await writeFile(join(root, 'cgroup.controllers'), 'cpu memory\n');
    const host = await detectCgroups({ root });
    const parent = join(root, 'hearth.slice');
    // An empty directory stands in for a cgroup without processes; one with a file refuses
    // removal as a cgroup with a VMM in it does.
    await mkdir(join(parent, 'vm-gone'));
    await mkdir(join(parent, 'vm-live'));
    await writeFile(join(parent, 'vm-live', 'cgroup.procs'), '1234\n');
    await mkdir(join(parent, 'other'));
    // Another agent's VM, whose VMM is not in its new cgroup yet.
    await mkdir(join(parent, 'vm-theirs'));
    expect(await sweepEmptyVmCgroups(host, new Set(['vm-gone', 'vm-live']))).toEqual([
      join(parent, 'vm-gone'),
    ]);
    await expect(stat(join(parent, 'vm-theirs'))).resolves.toBeTruthy();
    await expect(stat(join(parent, 'vm-live'))).resolves.toBeTruthy();
    await expect(stat(join(parent, 'other'))).resolves.toBeTruthy();
  });

  it('on cgroup v2 without the memory controller: none, with the reason', async () => {
    await writeFile(join(root, 'cgroup.controllers'), 'cpu pids\n');
    expect(await detectCgroups({ root })).toEqual({
      mode: 'none',
      reason: `cgroup v2 at ${root} lacks the memory controller`,
    });
  });

  it("on a hybrid host: v1 controllers, under the agent's own cgroup", async () => {
    for (const c of ['cpu', 'memory']) {
      await mkdir(join(root, c), { recursive: true });
      await writeFile(join(root, c, 'cgroup.procs'), '');
    }
    const self = '4:memory:/svc/agent\n1:cpu:/\n0::/\n';
    const host = await detectCgroups({ root, selfCgroup: self });
    expect(host).toEqual({
      mode: 'v1',
      memory: join(root, 'memory', 'svc', 'agent', 'hearth.slice'),
      cpu: join(root, 'cpu', 'hearth.slice'),
      blkio: null,
    });
    const procs = await createVmCgroup(host, 'vm_2', vmCgroupLimits(2, 512, 192));
    expect(procs).toHaveLength(2);
    const mem = join(root, 'memory', 'svc', 'agent', 'hearth.slice', 'vm-vm_2');
    expect(await readFile(join(mem, 'memory.limit_in_bytes'), 'utf8')).toBe(String(704 * 2 ** 20));
    const cpu = join(root, 'cpu', 'hearth.slice', 'vm-vm_2');
    expect(await readFile(join(cpu, 'cpu.cfs_quota_us'), 'utf8')).toBe('200000');
    expect(await readFile(join(cpu, 'cpu.cfs_period_us'), 'utf8')).toBe('100000');
  });

  it('a pool VM starts at the background CPU weight and is raised to the normal one (v2 weight, v1 shares)', async () => {
    await writeFile(join(root, 'cgroup.controllers'), 'cpu memory\n');
    const v2 = await detectCgroups({ root });
    const leaf = join(root, 'hearth.slice', 'vm-vm_p');
    // The kernel offers cpu.weight in a new cgroup when the cpu controller is on.
    await mkdir(leaf, { recursive: true });
    await writeFile(join(leaf, 'cpu.weight'), '100');
    await createVmCgroup(v2, 'vm_p', vmCgroupLimits(1, 128, 64, BACKGROUND_CPU_WEIGHT));
    expect(await readFile(join(leaf, 'cpu.weight'), 'utf8')).toBe(String(BACKGROUND_CPU_WEIGHT));
    expect(await setVmCpuWeight(v2, 'vm_p', NORMAL_CPU_WEIGHT)).toBe(true);
    expect(await readFile(join(leaf, 'cpu.weight'), 'utf8')).toBe('100');
    expect(await setVmCpuWeight(v2, 'vm_none', NORMAL_CPU_WEIGHT)).toBe(false);

    const v1root = join(root, 'v1');
    for (const c of ['cpu', 'memory']) {
      await mkdir(join(v1root, c), { recursive: true });
      await writeFile(join(v1root, c, 'cgroup.procs'), '');
    }
    const v1 = await detectCgroups({ root: v1root, selfCgroup: '4:memory:/\n1:cpu:/\n0::/\n' });
    const cpu = join(v1root, 'cpu', 'hearth.slice', 'vm-vm_q');
    await mkdir(cpu, { recursive: true });
    await writeFile(join(cpu, 'cpu.shares'), '1024');
    await createVmCgroup(v1, 'vm_q', vmCgroupLimits(1, 128, 64, BACKGROUND_CPU_WEIGHT));
    expect(await readFile(join(cpu, 'cpu.shares'), 'utf8')).toBe('51');
    expect(await setVmCpuWeight(v1, 'vm_q', NORMAL_CPU_WEIGHT)).toBe(true);
    expect(await readFile(join(cpu, 'cpu.shares'), 'utf8')).toBe('1024');
  });

  it('with no cgroup filesystem: none, saying why', async () => {
    const host = await detectCgroups({ root, selfCgroup: '' });
    expect(host.mode).toBe('none');
    expect(await createVmCgroup(host, 'vm_3', vmCgroupLimits(1, 64))).toEqual([]);
  });

  it('removes the VM cgroup, and a missing one is fine', async () => {
    await writeFile(join(root, 'cgroup.controllers'), 'cpu memory\n');
    const host = await detectCgroups({ root });
    await createVmCgroup(host, 'vm_4', vmCgroupLimits(1, 64));
    // A real cgroup directory holds only kernel files; rmdir on the stand-in needs it empty.
    const leaf = join(root, 'hearth.slice', 'vm-vm_4');
    await rm(leaf, { recursive: true });
    await mkdir(leaf);
    await removeVmCgroup(host, 'vm_4');
    await expect(stat(leaf)).rejects.toThrow(/ENOENT/);
    await removeVmCgroup(host, 'vm_4');
  });
});
