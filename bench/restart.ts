// Restart benchmark: `hearth up` (PostgreSQL when HEARTH_TEST_PG_URL is set, else PGlite) killed
// with SIGKILL while two VMs run, restarted, and at once one VM stopped, one exec'd in and a third
// deleted; repeated. Prints how long each took and checks nothing was lost or recorded failed.
// Usage: node --import tsx bench/restart.ts [--rounds 20]
import { restartScenario, type RoundResult } from '../test/helpers/restart-rounds.ts';
import { pidAlive } from '../test/helpers/vm.ts';
import { arg, stats } from './lib.ts';

const rounds = arg('rounds', 20);
const sc = await restartScenario();
const results: RoundResult[] = [];
const problems: string[] = [];
try {
  let c = (await sc.start())!;
  const keep = await sc.running(c, 'keep');
  let stop = await sc.running(c, 'halting');
  for (let round = 1; round <= rounds; round++) {
    const doomed = await sc.running(c, `doomed-${round}`);
    const r = await sc.round(round, { stop, keep, doomed });
    c = sc.client();
    results.push(r);
    for (const vm of [keep, stop]) {
      const failed = await sc.failedEvents(c, vm);
      if (failed.length) problems.push(`round ${round}: ${vm.name} recorded failed: ${failed[0]!.reason}`);
    }
    if (!pidAlive(keep.pid!)) problems.push(`round ${round}: the VMM of keep died`);
    if (!sc.tapGone(doomed)) problems.push(`round ${round}: the TAP of ${doomed.name} was left behind`);
    const names = (await c.all('listVms')).map((v) => v.name).sort();
    if (names.join() !== 'halting,keep') problems.push(`round ${round}: VMs are ${names.join(', ')}`);
    process.stdout.write(
      `round ${round}: restart ${r.restartMs.toFixed(0)} ms, stop ${r.stopMs.toFixed(0)} ms, exec ${r.execMs.toFixed(0)} ms, delete ${r.deleteMs.toFixed(0)} ms, retries ${r.retries}\n`,
    );
    await c.call('startVm', { params: { id: stop.id } });
    stop = await c.call('waitVm', { params: { id: stop.id }, query: { state: 'running', timeout: 180 } });
  }
} finally {
  await sc.dispose();
}
console.log(`\n${rounds} rounds of kill -9 and restart of \`hearth up\` with two VMs running`);
console.log(
  stats(
    'kill -9 to API listening again',
    results.map((r) => r.restartMs),
  ),
);
console.log(
  stats(
    'stop (request to stopped)',
    results.map((r) => r.stopMs),
  ),
);
console.log(
  stats(
    'exec (request to answer)',
    results.map((r) => r.execMs),
  ),
);
console.log(
  stats(
    'delete (request to gone)',
    results.map((r) => r.deleteMs),
  ),
);
console.log(`503 answers retried: ${results.reduce((n, r) => n + r.retries, 0)}`);
console.log(`VMs recorded failed, lost operations, leftovers: ${problems.length}`);
for (const p of problems) console.log(`  ${p}`);
if (problems.length) process.exitCode = 1;
