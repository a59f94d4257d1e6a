import { describe, expect, it } from 'vitest';
import { describeMigration, MigrationWatch } from './migration-watch.ts';

const limits = { stallMs: 60_000, totalMs: 270_000, pollMs: 2000 };
const active = (transferred: number) => ({
  status: 'active',
  ram: { transferred, total: 128 * 2 ** 20, remaining: 128 * 2 ** 20 - transferred },
});

describe('a migration is given up when it stops moving, not after a fixed total', () => {
  it('a slow save that keeps sending goes on past 120 s', () => {
    const w = new MigrationWatch(limits, 0);
    for (let t = 2000; t <= 200_000; t += 2000) {
      w.observe(active(t * 100), t);
      expect(w.check(t)).toBeNull();
    }
  });

  it('a save whose bytes stop moving fails after stallMs, saying how far it got', () => {
    const w = new MigrationWatch(limits, 0);
    w.observe(active(12 * 2 ** 20), 2000);
    for (let t = 4000; t < 62_000; t += 2000) {
      w.observe(active(12 * 2 ** 20), t);
      expect(w.check(t)).toBeNull();
    }
    w.observe(active(12 * 2 ** 20), 62_000);
    expect(w.check(62_000)).toBe(
      'stalled: no progress for 60 s (QEMU reports active, 12.0 of 128.0 MiB of RAM sent)',
    );
  });

  it('a status change counts as progress (the incoming side has no byte counts)', () => {
    const w = new MigrationWatch(limits, 0);
    w.observe({ status: 'setup' }, 2000);
    w.observe({ status: 'active' }, 50_000);
    expect(w.check(100_000)).toBeNull();
    expect(w.check(110_000)).toBe('stalled: no progress for 60 s (QEMU reports active)');
  });

  it('a save that crawls on forever fails at the total', () => {
    const w = new MigrationWatch(limits, 0);
    w.observe(active(1), 269_000);
    expect(w.check(270_000)).toMatch(/^timed out after 270 s \(QEMU reports active/);
  });

  it('a QEMU that never answered is said so', () => {
    expect(describeMigration(null)).toBe('QEMU did not answer query-migrate');
    expect(new MigrationWatch(limits, 0).check(60_000)).toBe(
      'stalled: no progress for 60 s (QEMU did not answer query-migrate)',
    );
  });
});
