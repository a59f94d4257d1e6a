import { describe, expect, it } from 'vitest';
import type { FunctionMetrics } from '@hearth/contract';
import { chartData, formatMs } from './metrics-chart.ts';

const point = (t: number, invocations: number, p50: number | null) => ({
  t: new Date(t * 1000).toISOString(),
  invocations,
  errors: 1,
  throttles: 2,
  coldStarts: 0,
  durationMs: { p50, p95: p50, p99: p50 },
});

const metrics = (series: FunctionMetrics['series']): FunctionMetrics => ({
  range: '1h',
  invocations: 0,
  errors: 0,
  timeouts: 0,
  coldStarts: 0,
  throttles: 0,
  durationMs: { p50: null, p95: null, p99: null },
  concurrent: 0,
  instances: 0,
  bucketS: 60,
  series,
});

describe('chartData', () => {
  it('lays the buckets over the range: zero counts and no duration where nothing ran', () => {
    const now = 1_000_020;
    const end = Math.floor(now / 60) * 60;
    const d = chartData(metrics([point(end - 120, 3, 12.5), point(end, 1, 4)]), 3600, now * 1000);
    expect(d.counts[0]).toHaveLength(60);
    expect(d.counts[0].at(-1)).toBe(end);
    expect(d.counts[0][0]).toBe(end - 59 * 60);
    expect(d.counts[1].slice(-3)).toEqual([3, 0, 1]);
    expect(d.counts[2].slice(-3)).toEqual([1, 0, 1]);
    expect(d.counts[3].slice(-3)).toEqual([2, 0, 2]);
    expect(d.durations[1].slice(-3)).toEqual([12.5, null, 4]);
    expect(d.counts[1].reduce((a, b) => a! + b!, 0)).toBe(4);
  });

  it('keeps a bucket newer than the page clock', () => {
    const d = chartData(metrics([point(1_000_080, 5, 1)]), 3600, 1_000_000 * 1000);
    expect(d.counts[0].at(-1)).toBe(1_000_080);
    expect(d.counts[1].at(-1)).toBe(5);
  });
});

describe('formatMs', () => {
  it('writes small durations with a decimal, large ones in seconds', () => {
    expect(formatMs(3.21)).toBe('3.2 ms');
    expect(formatMs(250)).toBe('250 ms');
    expect(formatMs(20_100)).toBe('20.1 s');
  });
});
