// Host-wide figures for the benches: memory in use, CPU busy share and time by process, KSM.
import { readdir, readFile, writeFile } from 'node:fs/promises';

const KSM = '/sys/kernel/mm/ksm';

/** MemTotal − MemAvailable: what the host could not hand out now, MiB. */
export async function hostMemoryUsedMib(): Promise<{
  usedMib: number;
  availableMib: number;
  totalMib: number;
}> {
  const m = await readFile('/proc/meminfo', 'utf8');
  const kb = (f: string) => Number(new RegExp(`^${f}:\\s+(\\d+) kB`, 'm').exec(m)?.[1] ?? 0);
  const totalMib = kb('MemTotal') / 1024;
  const availableMib = kb('MemAvailable') / 1024;
  return { usedMib: totalMib - availableMib, availableMib, totalMib };
}

/** Busy and total clock ticks of every core together, from /proc/stat's first line. */
export async function cpuTicks(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n', 1)[0]!;
  // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.split(/\s+/).slice(1, 9).map(Number);
  const idleAll = idle! + iowait!;
  const total = user! + nice! + system! + idleAll + irq! + softirq! + steal!;
  return { busy: total - idleAll, total };
}

/** The host's CPU busy share over `ms` (all cores; 1.0 = every core busy), from /proc/stat. */
export async function hostCpuBusy(ms: number): Promise<number> {
  const a = await cpuTicks();
  await new Promise((r) => setTimeout(r, ms));
  const b = await cpuTicks();
  return (b.busy - a.busy) / Math.max(1, b.total - a.total);
}

/** A /proc/PID/stat line's command and CPU time (user + system) in clock ticks. */
function parseStat(stat: string): { comm: string; ticks: number } {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
    ticks: Number(fields[11] ?? 0) + Number(fields[12] ?? 0),
  };
}

/** A process's CPU time (user + system) in clock ticks, from /proc/PID/stat. */
export async function processCpuTicks(pid: number): Promise<number> {
  return parseStat(await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')).ticks;
}

export interface KsmState {
  available: boolean;
  run: string;
  pagesSharing: number;
  pagesShared: number;
  fullScans: number;
}

export async function ksmState(): Promise<KsmState> {
  const read = (f: string) => readFile(`${KSM}/${f}`, 'utf8').then((t) => t.trim());
  try {
    return {
      available: true,
      run: await read('run'),
      pagesSharing: Number(await read('pages_sharing')),
      pagesShared: Number(await read('pages_shared')),
      fullScans: Number(await read('full_scans')),
    };
  } catch {
    return { available: false, run: '0', pagesSharing: 0, pagesShared: 0, fullScans: 0 };
  }
}

/**
 * Turns KSM on (run=1) and returns how to put it back as it was. QEMU marks guest RAM mergeable
 * itself (mem-merge is on by default on Linux), so KSM only has to run.
 */
export async function enableKsm(): Promise<() => Promise<void>> {
  const before = await ksmState();
  if (!before.available || before.run === '1') return async () => undefined;
  await writeFile(`${KSM}/run`, '1');
  return async () => {
    await writeFile(`${KSM}/run`, before.run).catch(() => undefined);
  };
}

/** CPU time (ms) and command of every process now running, by pid, from /proc/PID/stat. */
export async function cpuByProcess(): Promise<Map<string, { comm: string; ms: number }>> {
  const tickMs = 10; // USER_HZ is 100 on Linux
  const out = new Map<string, { comm: string; ms: number }>();
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    if (!stat) continue;
    const { comm, ticks } = parseStat(stat);
    out.set(pid, { comm, ms: ticks * tickMs });
  }
  return out;
}

/**
 * CPU time spent between two `cpuByProcess` snapshots, summed by command and sorted, largest
 * first. Processes that started in between count whole; kernel workers (whose command names the
 * queue they serve at the moment) count as one, `kworker`.
 */
export function cpuSpentByCommand(
  before: Map<string, { comm: string; ms: number }>,
  after: Map<string, { comm: string; ms: number }>,
): [string, number][] {
  const by = new Map<string, number>();
  for (const [pid, { comm, ms }] of after) {
    const spent = ms - (before.get(pid)?.ms ?? 0);
    if (spent <= 0) continue;
    const name = comm.startsWith('kworker/') ? 'kworker' : comm;
    by.set(name, (by.get(name) ?? 0) + spent);
  }
  return [...by].sort((a, b) => b[1] - a[1]);
}
