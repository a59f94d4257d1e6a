// The chaos suite's long run (docs/chaos.md): three agents in network namespaces, two manager
// replicas and PostgreSQL; a seeded run of operations interleaved with faults, then the
// invariants, the counts of operations, faults and outcomes. Replay a run with its seed.
// Usage: node --import tsx bench/chaos.ts [--seed N] [--ops 300] [--minutes 120] [--fault-rate 0.2]
import { runChaos } from '../test/helpers/chaos/run.ts';
import { chaosSeed } from '../test/helpers/chaos/rng.ts';
import { startChaosTopology } from '../test/helpers/chaos/topology.ts';
import { arg, disposeOnSignal } from './lib.ts';

const seed = process.argv.includes('--seed') ? arg('seed', 0) >>> 0 : chaosSeed();
const ops = arg('ops', Number(process.env.HEARTH_CHAOS_OPS ?? 300));
const minutes = arg('minutes', 120);
const faultRate = arg('fault-rate', 0.2);

console.log(`chaos bench: seed ${seed}, ${ops} ops, at most ${minutes} min (replay: --seed ${seed})`);
const topo = await startChaosTopology();
disposeOnSignal(() => topo.dispose());
let ok = false;
try {
  const r = await runChaos(topo, { seed, ops, deadlineMs: minutes * 60_000, faultRate, maxVms: 4 });
  console.log(`\nseed ${seed}: ${(r.durationMs / 1000).toFixed(0)} s\n${r.summary}\n${r.table}`);
  ok = r.ok;
} finally {
  await topo.dispose();
}
process.exit(ok ? 0 : 1);
