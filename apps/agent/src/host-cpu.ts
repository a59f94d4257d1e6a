import { readFile } from 'node:fs/promises';

/** The aggregate `cpu` line of /proc/stat: time spent busy and in total, in clock ticks. */
export interface CpuTimes {
  busy: number;
  total: number;
}

/**
 * Reads the first (all-CPU) line of /proc/stat. Idle is idle + iowait; guest time is already
 * counted in user and nice, so it is left out of the total to avoid counting it twice.
 */
export function parseProcStat(text: string): CpuTimes | null {
  const line = /^cpu\s+(.+)$/m.exec(text)?.[1];
  if (!line) return null;
  const f = line.trim().split(/\s+/).map(Number);
  if (f.length < 4 || f.some((n) => !Number.isFinite(n))) return null;
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  const idleAll = idle + iowait;
  const total = user + nice + system + idleAll + irq + softirq + steal;
  return { busy: total - idleAll, total };
}

/** Busy share of all CPUs between two readings, 0–100; null when no time passed or it went back. */
export function busyPercent(prev: CpuTimes, now: CpuTimes): number | null {
  const dt = now.total - prev.total;
  const db = now.busy - prev.busy;
  if (dt <= 0 || db < 0) return null;
  return Math.min(100, Math.max(0, (db / dt) * 100));
}

/**
 * The host's CPU use since the previous call (each heartbeat calls it once): null on the first
 * call, and when /proc/stat cannot be read.
 */
export class HostCpu {
  private last: CpuTimes | null = null;

  async sample(read: () => Promise<string> = () => readFile('/proc/stat', 'utf8')): Promise<number | null> {
    const now = parseProcStat(await read().catch(() => ''));
    if (!now) return null;
    const prev = this.last;
    this.last = now;
    return prev ? busyPercent(prev, now) : null;
  }
}
