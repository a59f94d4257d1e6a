import type { FunctionMetrics } from '@hearth/contract';

type Col = (number | null)[];
/** A chart's columns: x (unix seconds) then its three series, as uPlot takes them. */
export type Columns = [number[], Col, Col, Col];

export interface FnChartData {
  /** Invocations, errors and throttles per bucket (0 where nothing ran). */
  counts: Columns;
  /** The handler's duration p50, p95 and p99 per bucket (null where nothing ran). */
  durations: Columns;
}

/**
 * The metrics' buckets laid over the whole range (the API leaves empty buckets out): every bucket
 * from the range's start to `nowMs` gets a point, so a quiet hour shows as a flat line at zero.
 */
export function chartData(m: FunctionMetrics, rangeS: number, nowMs: number): FnChartData {
  const step = m.bucketS;
  const end = Math.floor(nowMs / 1000 / step) * step;
  const start = end - Math.ceil(rangeS / step) * step + step;
  const byT = new Map(m.series.map((p) => [Math.floor(Date.parse(p.t) / 1000), p]));
  const x: number[] = [];
  const [inv, err, thr, p50, p95, p99]: [Col, Col, Col, Col, Col, Col] = [[], [], [], [], [], []];
  // A bucket older than the laid-out range still counts (a clock a little ahead of the manager's).
  const first = Math.min(start, ...byT.keys());
  for (let t = first; t <= Math.max(end, ...byT.keys()); t += step) {
    const p = byT.get(t);
    x.push(t);
    inv.push(p?.invocations ?? 0);
    err.push(p?.errors ?? 0);
    thr.push(p?.throttles ?? 0);
    p50.push(p?.durationMs.p50 ?? null);
    p95.push(p?.durationMs.p95 ?? null);
    p99.push(p?.durationMs.p99 ?? null);
  }
  return { counts: [x, inv, err, thr], durations: [x, p50, p95, p99] };
}

/** A duration in ms the way the tiles and axes write it. */
export function formatMs(n: number): string {
  if (n >= 10_000) return `${(n / 1000).toFixed(1)} s`;
  return n >= 100 ? `${n.toFixed(0)} ms` : `${n.toFixed(1)} ms`;
}
