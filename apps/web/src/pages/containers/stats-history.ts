import type { ContainerStats } from '@hearth/contract';
import { HISTORY } from '../vm/metrics-history.ts';

export interface StatsSample {
  /** Seconds since the epoch (uPlot's x axis). */
  t: number;
  cpu: number | null;
  mem: number | null;
  memLimit: number | null;
  /** Bytes per second from the previous sample; null for the first one or after a reset. */
  rx: number | null;
  tx: number | null;
  read: number | null;
  write: number | null;
}

/** A counter's rate between two samples: null when either is unknown or it went down (a reboot). */
function rate(now: number | null, before: number | null | undefined, dt: number): number | null {
  if (now === null || before == null || dt <= 0 || now < before) return null;
  return (now - before) / dt;
}

/**
 * Adds one stats answer to the history (the same length as the VM metrics tab keeps). The
 * network and disk counters become rates from the previous answer; an answer with the same
 * time as the last sample (a poll faster than the guest's update) is not added twice.
 */
export function addStats(
  history: StatsSample[],
  s: ContainerStats,
  prev: ContainerStats | null,
): StatsSample[] {
  const t = Date.parse(s.at) / 1000;
  if (prev && Date.parse(prev.at) / 1000 >= t) return history;
  const dt = prev ? t - Date.parse(prev.at) / 1000 : 0;
  const sample: StatsSample = {
    t,
    cpu: s.cpuPercent,
    mem: s.memoryBytes,
    memLimit: s.memoryLimitBytes,
    rx: rate(s.netRxBytes, prev?.netRxBytes, dt),
    tx: rate(s.netTxBytes, prev?.netTxBytes, dt),
    read: rate(s.diskReadBytes, prev?.diskReadBytes, dt),
    write: rate(s.diskWriteBytes, prev?.diskWriteBytes, dt),
  };
  const next = [...history, sample];
  return next.length > HISTORY ? next.slice(next.length - HISTORY) : next;
}
