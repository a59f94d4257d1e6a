import { access, mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** What one VM's cgroup allows: CPU time per period (vCPUs × period), memory, an IO weight. */
export interface CgroupLimits {
  cpuQuotaUs: number;
  cpuPeriodUs: number;
  memoryMaxBytes: number;
  /** 1-10000 on cgroup v2 (100 = an equal share), scaled to 10-1000 on v1. */
  ioWeight: number;
  /** CPU weight against the other VMs, 1-10000 (100 = an equal share; v1 `cpu.shares` × 1024/100). */
  cpuWeight?: number;
}

/** The CPU weight of a VM that waits in a warm pool: it gets the CPU no running work wants. */
export const BACKGROUND_CPU_WEIGHT = 5;
export const NORMAL_CPU_WEIGHT = 100;

/**
 * What the VMM process needs on top of guest RAM before the kernel reclaims or kills it: QEMU
 * under TCG holds its capped translation cache, heap and device state (about 50-60 MiB measured),
 * plus page cache of its own disk writes, which the cgroup reclaims rather than kills for.
 */
export const VMM_CGROUP_OVERHEAD_MIB = 192;

export function vmCgroupLimits(
  vcpus: number,
  memoryMib: number,
  overheadMib = VMM_CGROUP_OVERHEAD_MIB,
  cpuWeight = NORMAL_CPU_WEIGHT,
): CgroupLimits {
  return {
    cpuQuotaUs: vcpus * 100_000,
    cpuPeriodUs: 100_000,
    memoryMaxBytes: (memoryMib + overheadMib) * 2 ** 20,
    ioWeight: 100,
    cpuWeight,
  };
}

/**
 * Where this host puts VM cgroups. `v2`: one directory under the unified hierarchy with the cpu
 * and memory controllers enabled. `v1` (hybrid hosts whose unified hierarchy has no controllers):
 * a directory per controller, under the cgroup the agent itself runs in, so whatever limits the
 * agent's service has keep holding its VMs. `none`: no limit can be set, with the reason.
 */
export type CgroupHost =
  | { mode: 'v2'; parent: string; io: boolean }
  | { mode: 'v1'; cpu: string; memory: string; blkio: string | null }
  | { mode: 'none'; reason: string };

export interface CgroupHostOptions {
  /** Where cgroup filesystems are mounted; default /sys/fs/cgroup. */
  root?: string;
  /** The VMs' parent cgroup name; default hearth.slice. */
  parent?: string;
  /** The agent's own /proc/self/cgroup text (tests); default read. */
  selfCgroup?: string;
}

const has = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

/** Finds out how (and whether) this host can give each VM a cgroup, making the parent cgroup. */
export async function detectCgroups(o: CgroupHostOptions = {}): Promise<CgroupHost> {
  const root = o.root ?? '/sys/fs/cgroup';
  const name = o.parent ?? 'hearth.slice';
  try {
    const controllers = await readFile(join(root, 'cgroup.controllers'), 'utf8').catch(() => null);
    if (controllers !== null) {
      const list = controllers.trim().split(/\s+/);
      const missing = ['cpu', 'memory'].filter((c) => !list.includes(c));
      if (missing.length) {
        return { mode: 'none', reason: `cgroup v2 at ${root} lacks the ${missing.join(' and ')} controller` };
      }
      const io = list.includes('io');
      const enable = `+cpu +memory${io ? ' +io' : ''}`;
      await writeFile(join(root, 'cgroup.subtree_control'), enable);
      const parent = join(root, name);
      await mkdir(parent, { recursive: true });
      await writeFile(join(parent, 'cgroup.subtree_control'), enable);
      return { mode: 'v2', parent, io };
    }
    const self = o.selfCgroup ?? (await readFile('/proc/self/cgroup', 'utf8').catch(() => ''));
    const own = (ctl: string) => {
      const line = self.split('\n').find((l) => l.split(':')[1]?.split(',').includes(ctl));
      return line ? line.split(':').slice(2).join(':') : '/';
    };
    const v1 = async (ctl: string) => {
      if (!(await has(join(root, ctl, 'cgroup.procs')))) return null;
      const dir = join(root, ctl, own(ctl), name);
      await mkdir(dir, { recursive: true });
      return dir;
    };
    const memory = await v1('memory');
    const cpu = await v1('cpu');
    if (!memory || !cpu) {
      return {
        mode: 'none',
        reason: `neither cgroup v2 nor the v1 cpu and memory controllers are mounted at ${root}`,
      };
    }
    return { mode: 'v1', cpu, memory, blkio: await v1('blkio') };
  } catch (e) {
    return { mode: 'none', reason: `making the VMs' cgroup failed: ${(e as Error).message}` };
  }
}

/** One line for `hearth doctor` and the agent's start-up log. */
export function describeCgroups(h: CgroupHost): string {
  if (h.mode === 'v2')
    return `cgroup v2: each VM in ${h.parent}/vm-<id> (cpu.max, memory.max${h.io ? ', io.weight' : ''})`;
  if (h.mode === 'v1')
    return `cgroup v1 (the unified hierarchy has no controllers): each VM in ${h.memory}/vm-<id> and the cpu${h.blkio ? ', blkio' : ''} equivalents`;
  return `VMs run without a cgroup (no CPU, memory or IO limit): ${h.reason}`;
}

function dirsOf(h: CgroupHost, vmId: string): string[] {
  const leaf = vmCgroupLeaf(vmId);
  if (h.mode === 'v2') return [join(h.parent, leaf)];
  if (h.mode === 'v1') return [h.cpu, h.memory, ...(h.blkio ? [h.blkio] : [])].map((d) => join(d, leaf));
  return [];
}

async function writeIfPresent(path: string, value: string): Promise<void> {
  if (await has(path)) await writeFile(path, value);
}

/**
 * Makes the VM's cgroup with its limits and returns the `cgroup.procs` files its VMM's pid is to
 * be written to (empty when the host has none).
 */
export async function createVmCgroup(h: CgroupHost, vmId: string, l: CgroupLimits): Promise<string[]> {
  const dirs = dirsOf(h, vmId);
  for (const d of dirs) await mkdir(d, { recursive: true });
  if (h.mode === 'v2') {
    const d = dirs[0]!;
    await writeFile(join(d, 'cpu.max'), `${l.cpuQuotaUs} ${l.cpuPeriodUs}`);
    if (l.cpuWeight !== undefined) await writeIfPresent(join(d, 'cpu.weight'), String(l.cpuWeight));
    await writeFile(join(d, 'memory.max'), String(l.memoryMaxBytes));
    await writeIfPresent(join(d, 'memory.swap.max'), '0');
    if (h.io) await writeIfPresent(join(d, 'io.weight'), `default ${l.ioWeight}`);
  } else if (h.mode === 'v1') {
    const [cpu, memory, blkio] = dirs;
    await writeFile(join(cpu!, 'cpu.cfs_period_us'), String(l.cpuPeriodUs));
    await writeFile(join(cpu!, 'cpu.cfs_quota_us'), String(l.cpuQuotaUs));
    if (l.cpuWeight !== undefined)
      await writeIfPresent(join(cpu!, 'cpu.shares'), String(cpuShares(l.cpuWeight)));
    await writeFile(join(memory!, 'memory.limit_in_bytes'), String(l.memoryMaxBytes));
    if (blkio)
      await writeIfPresent(join(blkio, 'blkio.weight'), String(Math.min(1000, Math.max(10, l.ioWeight * 5))));
  }
  return dirs.map((d) => join(d, 'cgroup.procs'));
}

/** cgroup v1's `cpu.shares` for a v2 weight (100 ↔ 1024, the defaults; at least 2, the minimum). */
function cpuShares(weight: number): number {
  return Math.max(2, Math.round((weight * 1024) / 100));
}

/**
 * Changes a VM's CPU weight while its VMM runs (a pool VM handed out goes from the background
 * weight to the normal one). False when the host has no VM cgroups or the VM has none.
 */
export async function setVmCpuWeight(h: CgroupHost, vmId: string, weight: number): Promise<boolean> {
  // The CPU controller's directory comes first in both hierarchies.
  const dir = dirsOf(h, vmId)[0];
  const file = dir && join(dir, h.mode === 'v1' ? 'cpu.shares' : 'cpu.weight');
  if (!file || !(await has(file))) return false;
  await writeFile(file, String(h.mode === 'v1' ? cpuShares(weight) : weight));
  return true;
}

/** Moves a process (all its threads) into the cgroup `createVmCgroup` made. */
export async function joinCgroup(procsFiles: string[], pid: number): Promise<void> {
  for (const f of procsFiles) await writeFile(f, String(pid));
}

/**
 * Removes the VM's cgroup. Missing is fine; processes still in it (a VMM that outlived its
 * agent) are killed first, since a cgroup with members cannot be removed.
 */
export async function removeVmCgroup(h: CgroupHost, vmId: string): Promise<void> {
  for (const d of dirsOf(h, vmId)) {
    for (let i = 0; ; i++) {
      try {
        await rmdir(d);
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        if ((code !== 'EBUSY' && code !== 'ENOTEMPTY') || i >= 100) throw e;
      }
      const procs = await readFile(join(d, 'cgroup.procs'), 'utf8').catch(() => '');
      for (const pid of procs.split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      await sleep(20);
    }
  }
}

/** The cgroup leaf of a VM. */
export function vmCgroupLeaf(vmId: string): string {
  return `vm-${vmId.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

/**
 * Removes the VM cgroups no process is in: left by VMMs that ended while no agent ran (a host
 * reboot, a crash). A cgroup whose VMM still runs refuses removal (EBUSY) and stays with it.
 * `mine` names the leaves of this agent's own VMs: only those are swept, since another agent on
 * the same machine may have just made a cgroup that its VMM is not in yet.
 */
export async function sweepEmptyVmCgroups(h: CgroupHost, mine: ReadonlySet<string>): Promise<string[]> {
  const parents =
    h.mode === 'v2' ? [h.parent] : h.mode === 'v1' ? [h.cpu, h.memory, ...(h.blkio ? [h.blkio] : [])] : [];
  const removed: string[] = [];
  for (const parent of parents) {
    for (const name of await readdir(parent).catch(() => [] as string[])) {
      if (!name.startsWith('vm-') || !mine.has(name)) continue;
      try {
        await rmdir(join(parent, name));
        removed.push(join(parent, name));
      } catch {
        /* a VMM is still in it */
      }
    }
  }
  return removed;
}
