// Warm pool benchmark: create → first exec for VMs handed out from a warm pool, `--concurrent`
// creates at once (default 10, the pool's size), over `--rounds` rounds (the pool refills in
// between). Also the hand-out's own steps (take, personalize) as the VMs' boot profiles report
// them, and a cold create → first exec in the same run as the baseline. `--mode snapshot`: the
// pool boots one VM, snapshots it and restores the others from it; its fill time (one boot, one
// snapshot, restores) is printed beside the hand-out figures.
// Usage: node --import tsx bench/pool.ts [--mode booted|snapshot] [--concurrent 10] [--rounds 3] [--quick]
import { availableParallelism } from 'node:os';
import { PoolMode, type Vm } from '@hearth/contract';
import { startPlatform } from '../test/helpers/platform.ts';
import { cpuByProcess, cpuSpentByCommand } from './host-stats.ts';
import { arg, percentile, stats } from './lib.ts';
import { report } from './report.ts';

const quick = process.argv.includes('--quick');
const concurrent = arg('concurrent', quick ? 3 : 10);
const rounds = arg('rounds', quick ? 1 : 3);
const modeAt = process.argv.indexOf('--mode');
const mode = PoolMode.parse(modeAt > 0 ? process.argv[modeAt + 1] : 'booted');
const p = await startPlatform();

const exec = (id: string) => p.client.call('execVm', { params: { id }, body: { command: ['true'] } });

/** The pool has `n` VMs booted and waiting (the refill loop boots one per host at a time). */
async function ready(n: number): Promise<void> {
  for (;;) {
    const pool = await p.client.call('getPool', { params: { id: 'bench' } });
    if (pool.ready >= n && (mode === 'booted' || pool.snapshot)) return;
    if (pool.lastError) console.log(`  pool: ${pool.lastError}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

try {
  const t0 = performance.now();
  await p.client.call('createPool', { body: { name: 'bench', size: concurrent, mode } });
  await ready(concurrent);
  const fill = (performance.now() - t0) / 1000;
  console.log(`${mode} pool of ${concurrent} filled in ${fill.toFixed(1)} s`);

  const total: number[] = [];
  const take: number[] = [];
  const personalize: number[] = [];
  let misses = 0;
  // CPU time spent by every process during the rounds' hand-outs and first execs, by command.
  const spent = new Map<string, number>();
  for (let r = 0; r < rounds; r++) {
    await ready(concurrent);
    const cpu0 = await cpuByProcess();
    const made = await Promise.all(
      Array.from({ length: concurrent }, async (_, i) => {
        const t = performance.now();
        const vm: Vm = await p.client.call('createVm', {
          body: { name: `bp-${r}-${i}`, pool: 'bench', env: { ROUND: String(r) } },
        });
        if (vm.boot?.source !== 'pool') {
          misses++;
          await p.client.call('waitVm', { params: { id: vm.id }, query: { state: 'running', timeout: 300 } });
        }
        await exec(vm.id);
        total.push(performance.now() - t);
        for (const s of vm.boot?.steps ?? []) {
          if (s.name === 'take') take.push(s.ms);
          if (s.name === 'personalize') personalize.push(s.ms);
        }
        return vm;
      }),
    );
    for (const [comm, ms] of cpuSpentByCommand(cpu0, await cpuByProcess())) {
      spent.set(comm, (spent.get(comm) ?? 0) + ms);
    }
    for (const vm of made) await p.client.call('deleteVm', { params: { id: vm.id } });
    await p.manager.vmService.drain();
  }
  await p.client.call('patchPool', { params: { id: 'bench' }, body: { size: 0 } });
  await p.manager.vmService.drain();

  // Baseline: a cold create → first exec, alone, in the same run.
  const cold: number[] = [];
  for (let i = 0; i < (quick ? 1 : 3); i++) {
    const t = performance.now();
    const vm = await p.client.call('createVm', { body: { name: `bc-${i}` } });
    await p.client.call('waitVm', { params: { id: vm.id }, query: { state: 'running', timeout: 300 } });
    await exec(vm.id);
    cold.push(performance.now() - t);
    await p.client.call('deleteVm', { params: { id: vm.id } });
    await p.manager.vmService.drain();
  }

  const pool = await p.client.call('getPool', { params: { id: 'bench' } });
  console.log(
    `\nwarm pool benchmark, ${mode} mode (QEMU TCG, 1 vCPU, 128 MiB guests, ${concurrent} concurrent creates × ${rounds} rounds)`,
  );
  console.log(stats('pool: create → first exec', total));
  console.log(stats('  hand-out step: take', take));
  console.log(stats('  hand-out step: personalize', personalize));
  console.log(stats('cold: create → first exec (baseline)', cold));
  const handOuts = concurrent * rounds;
  const cpuTotal = [...spent.values()].reduce((a, b) => a + b, 0);
  const top = [...spent]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([comm, ms]) => `${comm} ${(ms / handOuts).toFixed(0)}`)
    .join(', ');
  console.log(
    `host CPU per hand-out + first exec: ${(cpuTotal / handOuts).toFixed(0)} ms (${top} ms); ` +
      `${concurrent} at once on ${availableParallelism()} cores need ≥ ${(cpuTotal / rounds / availableParallelism()).toFixed(0)} ms of wall time`,
  );
  console.log(`hits ${pool.hits}, misses ${pool.misses} (this run: ${misses} cold)`);
  console.log(`pool filled (${concurrent} VMs) in ${fill.toFixed(1)} s`);
  const p50 = percentile(total, 50);
  const p99 = percentile(total, 99);
  const coldP50 = percentile(cold, 50);
  report({
    figure: `create → first exec from a warm pool${mode === 'snapshot' ? ' (snapshot mode)' : ''}`,
    value: `p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms (${concurrent} concurrent × ${rounds} rounds, n=${total.length})`,
    baseline: `cold p50 ${coldP50.toFixed(0)} ms (n=${cold.length})`,
    ratio: Number((p50 / coldP50).toFixed(3)),
    target: 'p50 ≤ 150 ms, p99 ≤ 400 ms, under 10 concurrent creates',
    met: p50 <= 150 && p99 <= 400 && concurrent >= 10 && misses === 0,
  });
  await p.client.call('deletePool', { params: { id: 'bench' } });
} finally {
  await p.dispose();
}
