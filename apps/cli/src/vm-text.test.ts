import { describe, expect, it } from 'vitest';
import type { BootProfile, Vm } from '@hearth/contract';
import { bootLines, ms, poolVerdict } from './vm-text.ts';

const profile = (p: Partial<BootProfile>): BootProfile => ({
  source: 'cold',
  pool: null,
  steps: [],
  totalMs: 0,
  at: '2026-12-04T20:00:00.000Z',
  ...p,
});

describe('boot profile text', () => {
  it('writes milliseconds as people read them', () => {
    expect([ms(0.44), ms(9.96), ms(87.4), ms(1320)]).toEqual(['0.4 ms', '10 ms', '87 ms', '1.32 s']);
  });

  it('lists each step with its ms and a bar by share, and the unaccounted rest as `other`', () => {
    const lines = bootLines(
      profile({
        steps: [
          { name: 'disk', ms: 100 },
          { name: 'kernel', ms: 600 },
        ],
        totalMs: 1000,
      }),
    );
    expect(lines[0]).toBe('cold boot, 1.00 s total, at 2026-12-04T20:00:00.000Z');
    expect(lines.slice(1)).toEqual([
      `  disk       100 ms  ${'#'.repeat(3)}`,
      `  kernel     600 ms  ${'#'.repeat(18)}`,
      `  other      300 ms  ${'#'.repeat(9)}`,
    ]);
  });

  it('scales by the steps when they overlap past the total, and names the pool', () => {
    const lines = bootLines(
      profile({
        source: 'pool',
        pool: 'web',
        steps: [
          { name: 'take', ms: 30 },
          { name: 'personalize', ms: 30 },
        ],
        totalMs: 40,
      }),
    );
    expect(lines[0]).toMatch(/^from warm pool web, 40 ms total/);
    expect(lines.slice(1).every((l) => l.endsWith('#'.repeat(15)))).toBe(true);
    expect(lines.some((l) => l.includes('other'))).toBe(false);
  });
});

describe('create --pool verdict', () => {
  const vm = (v: Partial<Vm>) => ({ boot: null, pool: null, ...v }) as Vm;
  it('says the VM came from the pool, or that the pool was empty', () => {
    expect(
      poolVerdict('web', vm({ pool: 'web', boot: profile({ source: 'pool', pool: 'web', totalMs: 12 }) })),
    ).toBe('from pool web: handed out in 12 ms');
    expect(poolVerdict('web', vm({ boot: profile({ totalMs: 1500 }) }))).toBe(
      'pool web was empty: cold boot in 1.50 s',
    );
    // Not waited for: the VM's pool says which it was.
    expect(poolVerdict('web', vm({ pool: 'web' }))).toBe('from pool web');
    expect(poolVerdict('web', vm({}))).toBe('pool web was empty: cold boot');
  });
});
