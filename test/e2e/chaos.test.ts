import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChaos } from '../helpers/chaos/run.ts';
import { startChaosTopology, type ChaosTopology } from '../helpers/chaos/topology.ts';

// The chaos suite's short run (docs/chaos.md): three agents in network namespaces, two manager
// replicas and a PostgreSQL of its own; for each of three fixed seeds a handful of operations
// (create, start, stop, snapshot, restore, migrate, drain, delete, guest writes) interleaved with
// faults (kill -9 of an agent, a replica, a VMM; a link cut; PostgreSQL stopped and started), then
// the invariants. One topology serves every seed: each run deletes what it made and checks that
// nothing of it is left. HEARTH_CHAOS_SEED adds a run with that seed; HEARTH_CHAOS_OPS sets the
// number of operations per seed.
const SEEDS = [1001, 2002, 3003];
const extra = process.env.HEARTH_CHAOS_SEED;
if (extra) SEEDS.push(Number(extra) >>> 0);
const OPS = Number(process.env.HEARTH_CHAOS_OPS ?? 10);

let topo: ChaosTopology;

beforeAll(async () => {
  topo = await startChaosTopology();
}, 400_000);

afterAll(async () => {
  await topo?.dispose();
}, 120_000);

describe('chaos: seeded operations and faults on three hosts, two replicas and PostgreSQL', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: every invariant holds after ${OPS} operations`, async () => {
      const r = await runChaos(topo, { seed, ops: OPS, deadlineMs: 150_000, faultRate: 0.35, maxVms: 3 });
      expect(r.steps.filter((x) => x.kind === 'op').length).toBeGreaterThan(0);
      for (const inv of r.invariants)
        expect(inv.problems, `seed ${seed}: ${inv.name}\n${r.table}`).toEqual([]);
    }, 1_200_000);
  }
});
