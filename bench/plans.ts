// What `npm run bench` (bench/run-all.ts) runs: each script with the counts of the full run and
// its time budget. The budgets add up to less than the whole run's deadline (checked by
// plans.test.ts), so on a quiet machine every row of the performance table is measured; a
// script that overruns is stopped and reported as such.

export interface Plan {
  script: string;
  /** Arguments for the full run: counts chosen so the whole set fits 15 minutes on 2 cores. */
  args: string[];
  /** Arguments for `--quick` (every script takes `--quick`; older ones also get small counts). */
  quick: string[];
  /** Seconds before the script is stopped (full run; a quick run gets half, at least 120 s). */
  budget: number;
}

/** The whole run's deadline, seconds: the table must take less than 15 minutes. */
export const TOTAL_BUDGET_S = 900;
/**
 * Kept back from the scripts' budgets: the runner's sweeps after each script, the teardown of the
 * last one stopped at its budget (50 VMs took 83 s on a loaded machine) and the doc write.
 */
export const RESERVE_S = 75;

// Cheap rows first, the 50-VM density run last: when the time runs out, the most rows are in.
// Sample sizes are printed in each row's value (n=…), so the table says what a statistic rests on.
// density.ts also measures the agent's RSS (idle, then with 20 VMs) and QEMU's RSS/PSS per idle
// VM on the VMs it boots anyway (bench/memory.ts and bench/agent-memory.ts stay runnable alone).
export const PLANS: readonly Plan[] = [
  { script: 'boot.ts', args: ['--count', '10'], quick: ['--count', '2'], budget: 85 },
  { script: 'snapshots.ts', args: ['--runs', '3'], quick: ['--runs', '1'], budget: 60 },
  { script: 'pool.ts', args: ['--rounds', '2'], quick: [], budget: 100 },
  {
    script: 'api.ts',
    // The table's row is PostgreSQL's; PGlite's figures come from `bench/api.ts` alone.
    args: ['--db', 'postgres'],
    quick: ['--db', 'postgres', '--records', '50', '--vms', '200', '--gets', '50'],
    budget: 75,
  },
  {
    script: 'guest.ts',
    args: ['--boots', '1', '--execs', '100', '--mib', '64', '--runs', '3'],
    quick: ['--boots', '1', '--execs', '20', '--mib', '8'],
    budget: 150,
  },
  { script: 'parallel.ts', args: [], quick: [], budget: 55 },
  {
    script: 'density.ts',
    args: ['--vms', '50', '--idle', '15', '--rounds', '3', '--agent-vms', '20'],
    quick: ['--agent-vms', '2'],
    budget: 300,
  },
];

/** The budget a script gets: its own, cut to what is left of the run before the reserve. */
export function budgetFor(plan: Plan, leftS: number, quick: boolean): number {
  const own = quick ? Math.max(120, Math.round(plan.budget / 2)) : plan.budget;
  return Math.max(0, Math.min(own, Math.floor(leftS - RESERVE_S)));
}
