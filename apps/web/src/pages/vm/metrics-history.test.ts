import { describe, expect, it } from 'vitest';
import type { VmMetrics } from '@hearth/contract';
import { addSample, HISTORY } from './metrics-history.ts';

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
});
