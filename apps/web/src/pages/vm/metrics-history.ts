import type { VmHistoryPoint, VmMetrics, VmMetricsHistory } from '@hearth/contract';

export interface Sample {
  /** Seconds since the epoch (uPlot's x axis). */
  t: number;
  cpu: number;
  memUsed: number;
  memTotal: number;
  /** Bytes per second over every interface but loopback; null for the first sample. */
  rx: number | null;
  tx: number | null;
  diskUsed: number;
  diskTotal: number;
}

/** Ten minutes at the stream's default interval of 2 s. */
export const HISTORY = 300;

const traffic = (m: VmMetrics) =>
  m.network
    .filter((n) => n.name !== 'lo')
    .reduce((a, n) => ({ rx: a.rx + n.rxBytes, tx: a.tx + n.txBytes }), { rx: 0, tx: 0 });

/**
 * Adds one metrics message to the history. Network counters become rates from the previous
 * message; a counter that went down (guest rebooted) gives no rate rather than a negative one.
 */
export function addSample(history: Sample[], m: VmMetrics, prev: VmMetrics | null): Sample[] {
  const t = Date.parse(m.at) / 1000;
  let rx: number | null = null;
  let tx: number | null = null;
  if (prev) {
    const dt = t - Date.parse(prev.at) / 1000;
    const [a, b] = [traffic(prev), traffic(m)];
    if (dt > 0 && b.rx >= a.rx && b.tx >= a.tx) {
      rx = (b.rx - a.rx) / dt;
      tx = (b.tx - a.tx) / dt;
    }
  }
  const sample: Sample = {
    t,
    cpu: m.cpuPercent,
    memUsed: m.memory.usedBytes,
    memTotal: m.memory.totalBytes,
    rx,
    tx,
    diskUsed: m.disk.usedBytes,
    diskTotal: m.disk.totalBytes,
  };
  const next = [...history, sample];
  return next.length > HISTORY ? next.slice(next.length - HISTORY) : next;
}

const fromPoint = (p: VmHistoryPoint): Sample => ({
  t: Date.parse(p.at) / 1000,
  cpu: p.cpuPercent,
  memUsed: p.memUsedBytes,
  memTotal: p.memTotalBytes,
  rx: p.rxBytesPerSec,
  tx: p.txBytesPerSec,
  diskUsed: p.diskUsedBytes,
  diskTotal: p.diskTotalBytes,
});

/**
 * The samples the manager kept: the day's one-minute averages up to where the last hour's 10 s
 * samples begin, then those.
 */
export function fromHistory(day: VmMetricsHistory, hour: VmMetricsHistory): Sample[] {
  const recent = hour.points.map(fromPoint);
  const from = recent[0]?.t ?? Infinity;
  return [...day.points.map(fromPoint).filter((s) => s.t < from), ...recent];
}

/** What a chart shows: the kept samples older than the first one this page streamed, then those. */
export function withHistory(kept: Sample[], live: Sample[]): Sample[] {
  const from = live[0]?.t ?? Infinity;
  return [...kept.filter((s) => s.t < from), ...live];
}
