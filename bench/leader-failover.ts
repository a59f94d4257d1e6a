// Leader failover of replicated managers (docs/replicas.md): two real `hearth manager` processes
// on one PostgreSQL; the leader is killed -9 over and over and the time until the other replica
// says it leads is measured (from the kill to its "became leader" log line), then the killed one
// is started again as a follower. No agent: the election does not involve one.
// Usage: bash scripts/with-pg.sh node --import tsx bench/leader-failover.ts [--kills 5] [--lease 3000]
import { testPgUrl } from '../test/helpers/pg.ts';
import { startReplicas } from '../test/helpers/replicas.ts';
import { arg, disposeOnSignal, stats } from './lib.ts';

const kills = arg('kills', 5);
const leaseMs = arg('lease', 3000);
const pg = testPgUrl();
if (!pg) throw new Error('HEARTH_TEST_PG_URL is not set: run through scripts/with-pg.sh');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const c = await startReplicas(pg, { leaseMs });
disposeOnSignal(() => c.dispose());
try {
  const times: number[] = [];
  let leader = 0;
  for (let k = 0; k < kills; k++) {
    const other = 1 - leader;
    const before = c.replicas[other]!.leaderSince().length;
    const killedAt = Date.now();
    await c.replicas[leader]!.kill9();
    const deadline = Date.now() + 60_000;
    while (c.replicas[other]!.leaderSince().length === before) {
      if (Date.now() > deadline) throw new Error('no replica took over within 60 s');
      await sleep(20);
    }
    const ms = c.replicas[other]!.leaderSince().at(-1)! - killedAt;
    times.push(ms);
    console.log(`kill ${k + 1}: replica ${c.replicas[other]!.name} leads ${ms} ms after the kill`);
    await c.replicas[leader]!.start();
    leader = other;
  }
  console.log(stats(`leader failover (lease ${leaseMs} ms, ${kills} kills)`, times));
} finally {
  await c.dispose();
}
