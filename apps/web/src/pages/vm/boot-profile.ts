import type { BootProfile } from '@hearth/contract';

export interface BootRow {
  name: string;
  ms: number;
  /** Share of the widest scale (the total, or the steps' sum when they overlap), 0–100. */
  pct: number;
}

/** Where the time went: the steps in order, plus what no step accounts for (when it is a real gap). */
export function bootRows(p: BootProfile): BootRow[] {
  const sum = p.steps.reduce((a, s) => a + s.ms, 0);
  const rest = Math.round(p.totalMs - sum);
  const rows = [...p.steps, ...(rest >= 1 ? [{ name: 'other', ms: rest }] : [])];
  const scale = Math.max(p.totalMs, sum, 1);
  return rows.map((s) => ({ name: s.name, ms: s.ms, pct: Math.min(100, (s.ms / scale) * 100) }));
}

const SOURCE: Record<BootProfile['source'], string> = {
  cold: 'a cold boot',
  pool: 'handed out from a warm pool',
  snapshot: 'restored from a snapshot',
  restart: 'a restart',
};

/** What kind of start-up this was, in words (the pool named when it came from one). */
export function bootSourceText(p: BootProfile): string {
  if (p.source === 'pool' && p.pool) return `handed out from warm pool ${p.pool}`;
  return SOURCE[p.source];
}

/** Milliseconds as people read them: `0.4 ms`, `87 ms`, `1.32 s`. */
export function formatMs(ms: number): string {
  if (ms < 10) return `${Math.round(ms * 10) / 10} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}
