import { describe, expect, it } from 'vitest';
import { BootGate, defaultBootLimit } from './boot-gate.ts';

describe('BootGate', () => {
  it('lets `limit` boots through and the rest in arrival order as places free up', async () => {
    const gate = new BootGate(2);
    const order: number[] = [];
    const releases = new Map<number, () => void>();
    const entered = (i: number) =>
      gate.enter().then((release) => {
        order.push(i);
        releases.set(i, release);
      });
    const all = [0, 1, 2, 3, 4].map(entered);
    await Promise.all(all.slice(0, 2));
    expect(order).toEqual([0, 1]);
    expect(gate.active).toBe(2);
    expect(gate.queued).toBe(3);

    releases.get(1)!();
    await all[2];
    expect(order).toEqual([0, 1, 2]);
    // A release called twice frees one place only.
    releases.get(1)!();
    expect(gate.queued).toBe(2);
    expect(gate.active).toBe(2);

    releases.get(0)!();
    releases.get(2)!();
    await Promise.all(all);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    releases.get(3)!();
    releases.get(4)!();
    expect(gate.active).toBe(0);
    expect(gate.queued).toBe(0);
  });

  it('a newcomer does not overtake a boot that waited', async () => {
    const gate = new BootGate(1);
    const first = await gate.enter();
    const order: string[] = [];
    const waited = gate.enter().then((r) => (order.push('waited'), r));
    first();
    const late = gate.enter().then((r) => (order.push('late'), r));
    (await waited)();
    (await late)();
    expect(order).toEqual(['waited', 'late']);
    expect(gate.active).toBe(0);
  });

  it('refuses a limit below one', () => {
    expect(() => new BootGate(0)).toThrow(/positive integer/);
    expect(() => new BootGate(1.5)).toThrow(/positive integer/);
  });

  it('defaults to the cores under TCG and four per core with KVM', () => {
    expect(defaultBootLimit('tcg', 2)).toBe(2);
    expect(defaultBootLimit('kvm', 2)).toBe(8);
    expect(defaultBootLimit('tcg', 0)).toBe(1);
  });
});
