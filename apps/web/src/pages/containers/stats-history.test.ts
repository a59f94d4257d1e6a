import { describe, expect, it } from 'vitest';
import type { ContainerStats } from '@hearth/contract';
import { HISTORY } from '../vm/metrics-history.ts';
import { addStats } from './stats-history.ts';

const stats = (sec: number, over: Partial<ContainerStats> = {}): ContainerStats => ({
  cpuPercent: 12,
  memoryBytes: 50 * 2 ** 20,
  memoryLimitBytes: 256 * 2 ** 20,
  netRxBytes: 1000,
  netTxBytes: 500,
  diskReadBytes: 0,
  diskWriteBytes: 0,
  pids: 3,
  at: new Date(Date.UTC(2026, 11, 5, 10, 0, sec)).toISOString(),
  ...over,
});

describe('container stats history', () => {
  it('turns counters into rates from the previous answer', () => {
    const a = stats(0);
    const b = stats(2, { netRxBytes: 3000, netTxBytes: 1500, diskWriteBytes: 4096 });
    const h1 = addStats([], a, null);
    expect(h1).toEqual([
      expect.objectContaining({ cpu: 12, mem: 50 * 2 ** 20, memLimit: 256 * 2 ** 20, rx: null, write: null }),
    ]);
    const h2 = addStats(h1, b, a);
    expect(h2[1]).toMatchObject({ rx: 1000, tx: 500, read: 0, write: 2048 });
  });

  it('gives no rate for a counter that went down or is unknown', () => {
    const a = stats(0, { netRxBytes: 5000 });
    const b = stats(2, { netRxBytes: 10, netTxBytes: null });
    expect(addStats([], b, a)[0]).toMatchObject({ rx: null, tx: null, read: 0 });
  });

  it('adds an answer with the same time once, and keeps the VM tab’s history length', () => {
    const a = stats(0);
    const h = addStats([], a, null);
    expect(addStats(h, stats(0), a)).toBe(h);
    let long: ReturnType<typeof addStats> = [];
    let prev: ContainerStats | null = null;
    for (let i = 0; i < HISTORY + 5; i++) {
      const s = { ...stats(0), at: new Date(Date.UTC(2026, 11, 5, 10) + i * 2000).toISOString() };
      long = addStats(long, s, prev);
      prev = s;
    }
    expect(long).toHaveLength(HISTORY);
    expect(long.at(-1)!.t).toBe(Date.parse(prev!.at) / 1000);
  });
});
