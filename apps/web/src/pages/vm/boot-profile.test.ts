import { describe, expect, it } from 'vitest';
import type { BootProfile } from '@hearth/contract';
import { bootRows, bootSourceText, formatMs } from './boot-profile.ts';

const p = (over: Partial<BootProfile>): BootProfile => ({
  source: 'cold',
  pool: null,
  steps: [],
  totalMs: 0,
  at: '2026-12-04T20:00:00.000Z',
  ...over,
});

describe('boot profile rows', () => {
  it('sizes each step by its share of the total and adds the unaccounted rest', () => {
    const rows = bootRows(
      p({
        steps: [
          { name: 'disk', ms: 50 },
          { name: 'kernel', ms: 150 },
        ],
        totalMs: 400,
      }),
    );
    expect(rows).toEqual([
      { name: 'disk', ms: 50, pct: 12.5 },
      { name: 'kernel', ms: 150, pct: 37.5 },
      { name: 'other', ms: 200, pct: 50 },
    ]);
  });

  it('scales by the steps when they sum past the total, with no `other`', () => {
    const rows = bootRows(
      p({
        steps: [
          { name: 'a', ms: 30 },
          { name: 'b', ms: 30 },
        ],
        totalMs: 40,
      }),
    );
    expect(rows.map((r) => r.pct)).toEqual([50, 50]);
  });

  it('survives an empty profile', () => {
    expect(bootRows(p({}))).toEqual([]);
  });

  it('names the source and the pool', () => {
    expect(bootSourceText(p({ source: 'pool', pool: 'web' }))).toBe('handed out from warm pool web');
    expect(bootSourceText(p({ source: 'snapshot' }))).toBe('restored from a snapshot');
    expect([formatMs(0.44), formatMs(87.4), formatMs(1320)]).toEqual(['0.4 ms', '87 ms', '1.32 s']);
  });
});
