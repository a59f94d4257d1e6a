import { describe, expect, it } from 'vitest';
import type { VmMetrics } from '@hearth/contract';
import { addSample, fromHistory, HISTORY, withHistory } from './metrics-history.ts';

const m = (sec: number, rx: number, tx: number): VmMetrics => ({
  at: new Date(sec * 1000).toISOString(),
  cpuPercent: 10,
  memory: { totalBytes: 100, availableBytes: 60, usedBytes: 40 },
  load: [0, 0, 0],
  processes: 5,
  uptimeSec: sec,
  disk: { path: '/', totalBytes: 1000, usedBytes: 100 },
  network: [
    { name: 'lo', rxBytes: 1e9, txBytes: 1e9 },
    { name: 'eth0', rxBytes: rx, txBytes: tx },
  ],
  agentRssBytes: 1,
});

describe('metrics history', () => {
  it('turns counters into rates, ignoring loopback and counter resets', () => {
    const first = addSample([], m(100, 1000, 500), null);
    expect(first[0]).toMatchObject({ t: 100, cpu: 10, rx: null, tx: null, memUsed: 40 });
    const second = addSample(first, m(102, 3000, 700), m(100, 1000, 500));
    expect(second[1]).toMatchObject({ rx: 1000, tx: 100 });
    const reset = addSample(second, m(104, 10, 10), m(102, 3000, 700));
    expect(reset[2]).toMatchObject({ rx: null, tx: null });
  });

  it(`keeps the last ${HISTORY} samples`, () => {
    let h = addSample([], m(0, 0, 0), null);
    for (let i = 1; i <= HISTORY + 5; i++) h = addSample(h, m(i * 2, i, i), m((i - 1) * 2, i - 1, i - 1));
    expect(h).toHaveLength(HISTORY);
    expect(h.at(-1)!.t).toBe((HISTORY + 5) * 2);
  });

  it('puts the kept day before the last hour, and both before what this page streamed', () => {
    const point = (sec: number, cpu: number) => ({
      at: new Date(sec * 1000).toISOString(),
      cpuPercent: cpu,
      memUsedBytes: 1,
      memTotalBytes: 2,
      diskUsedBytes: 3,
      diskTotalBytes: 4,
      rxBytesPerSec: null,
      txBytesPerSec: 5,
    });
    const day = {
      range: '24h' as const,
      stepSeconds: 60,
      points: [point(0, 1), point(60, 2), point(120, 9)],
    };
    const hour = { range: '1h' as const, stepSeconds: 10, points: [point(120, 3), point(130, 4)] };
    const kept = fromHistory(day, hour);
    expect(kept.map((s) => [s.t, s.cpu])).toEqual([
      [0, 1],
      [60, 2],
      [120, 3],
      [130, 4],
    ]);
    const live = addSample([], m(130, 0, 0), null);
    expect(withHistory(kept, live).map((s) => s.t)).toEqual([0, 60, 120, 130]);
    expect(withHistory(kept, live).at(-1)!.cpu).toBe(10);
  });
});
