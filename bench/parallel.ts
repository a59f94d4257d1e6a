// Parallel create benchmark: N VMs created at once through the API, each timed from its create
// call to its first successful exec (its guest agent answered), the wall time until all are
// ready, and one VM created alone in the same run for scale (baseline: N of those back to back).
// Usage: node --import tsx bench/parallel.ts [--vms 10] [--quick]
import { startPlatform } from '../test/helpers/platform.ts';
import { arg, disposeOnSignal, percentile, stats } from './lib.ts';
import { report } from './report.ts';

const quick = process.argv.includes('--quick');
const n = arg('vms', quick ? 3 : 10);

const p = await startPlatform();
disposeOnSignal(() => p.dispose());
/** Milliseconds from the create call to the first exec that succeeded. */
async function createReady(name: string): Promise<number> {
  const t0 = performance.now();
  const vm = await p.client.call('createVm', { body: { name } });
  await p.client.call('waitVm', { params: { id: vm.id }, query: { state: 'running', timeout: 300 } });
  const r = await p.client.call('execVm', { params: { id: vm.id }, body: { command: ['true'] } });
  if (r.exitCode !== 0) throw new Error(`${name}: exec \`true\` exited ${r.exitCode}`);
  const ms = performance.now() - t0;
  console.log(`${name} ready in ${ms.toFixed(0)} ms`);
  return ms;
}

let failures = 0;
try {
  const alone = await createReady('par-alone');
  await p.client.call('deleteVm', { params: { id: 'par-alone' } });
  await p.manager.vmService.drain();

  const t0 = performance.now();
  const results = await Promise.allSettled(Array.from({ length: n }, (_, i) => createReady(`par-${i}`)));
  const wall = performance.now() - t0;
  const ready: number[] = [];
  for (const r of results) {
    if (r.status === 'fulfilled') ready.push(r.value);
    else {
      failures++;
      console.error(`parallel create failed: ${(r.reason as Error).message.split('\n')[0]}`);
    }
  }
  console.log(`\nparallel create benchmark: ${n} VMs at once, 128 MiB, 1 vCPU, create → first exec`);
  console.log(`one VM alone:                                n=1  ${alone.toFixed(0)}ms`);
  if (ready.length) console.log(stats(`per VM (${n} in parallel)`, ready));
  console.log(`wall time until all ready:                   ${wall.toFixed(0)}ms`);
  console.log(`ready: ${ready.length} of ${n}`);
  const p50 = percentile(ready, 50);
  const p95 = percentile(ready, 95);
  report({
    figure: `${n} VMs created in parallel`,
    value: `${ready.length}/${n} ready; wall ${(wall / 1000).toFixed(1)} s; per VM p50 ${(p50 / 1000).toFixed(1)} s, p95 ${(p95 / 1000).toFixed(1)} s`,
    baseline: `${n} × one alone: ${((n * alone) / 1000).toFixed(1)} s`,
    ratio: Number((wall / (n * alone)).toFixed(2)),
    target: 'all ready; wall time and per-VM p50/p95 reported',
    met: ready.length === n,
  });
  for (const vm of await p.client.all('listVms')) await p.client.call('deleteVm', { params: { id: vm.id } });
  await p.manager.vmService.drain();
} finally {
  await p.dispose();
}
process.exit(failures ? 1 : 0);
