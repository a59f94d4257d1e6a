import { describe, expect, it } from 'vitest';
import { FIGURES } from './perf-doc.ts';
import { PLANS, RESERVE_S, TOTAL_BUDGET_S, budgetFor } from './plans.ts';

describe('the bench plans', () => {
  it('fit the run deadline: the budgets and the reserve add up to at most 15 minutes', () => {
    const sum = PLANS.reduce((n, p) => n + p.budget, 0);
    expect(TOTAL_BUDGET_S).toBeLessThanOrEqual(900);
    expect(sum + RESERVE_S).toBeLessThanOrEqual(TOTAL_BUDGET_S);
  });

  it('run every script that reports a row of the table', () => {
    const planned = new Set(PLANS.map((p) => p.script));
    expect(FIGURES.filter((f) => !planned.has(f.script))).toEqual([]);
  });

  it('cut a script to what is left of the run, keeping the reserve', () => {
    const density = PLANS.find((p) => p.script === 'density.ts')!;
    expect(budgetFor(density, Infinity, false)).toBe(density.budget);
    expect(budgetFor(density, 100 + RESERVE_S, false)).toBe(100);
    expect(budgetFor(density, RESERVE_S - 10, false)).toBe(0);
    expect(budgetFor(density, Infinity, true)).toBe(Math.max(120, Math.round(density.budget / 2)));
  });
});
