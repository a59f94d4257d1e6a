// E2B-compatible API benchmark: the real `e2b` SDK against a running Hearth, next to the same
// operation through Hearth's own API in the same run. Sandbox.create() → first command answered,
// cold and from a warm pool (a pool named by the template id), and the commands.run('true') round
// trip; Hearth's createVm → waitVm → exec and exec 'true' as the baselines.
// Usage: node --import tsx bench/e2b.ts [--rounds 5] [--runs 30] [--quick]
import { Sandbox } from 'e2b';
import { startPlatform } from '../test/helpers/platform.ts';
import { arg, disposeOnSignal, percentile, stats } from './lib.ts';
import { report } from './report.ts';

const quick = process.argv.includes('--quick');
const rounds = arg('rounds', quick ? 2 : 5);
const runs = arg('runs', quick ? 10 : 30);
const p = await startPlatform();
disposeOnSignal(() => p.dispose());
const url = `${p.manager.url}/e2b`;
const opts = { apiUrl: url, sandboxUrl: url, apiKey: p.manager.adminToken, requestTimeoutMs: 300_000 };
const exec = (id: string) => p.client.call('execVm', { params: { id }, body: { command: ['true'] } });

async function poolReady(): Promise<void> {
  while ((await p.client.call('getPool', { params: { id: 'bench-e2b' } })).ready < 1) {
    await new Promise((r) => setTimeout(r, 500));
  }
}

try {
  const e2bCold: number[] = [];
  const e2bPool: number[] = [];
  const hearthCold: number[] = [];
  const hearthPool: number[] = [];
  const e2bRun: number[] = [];
  const hearthExec: number[] = [];
  await p.client.call('createPool', { body: { name: 'bench-e2b', size: 1 } });
  for (let r = 0; r < rounds; r++) {
    let t = performance.now();
    const cold = await Sandbox.create({ ...opts, timeoutMs: 600_000 });
    await cold.commands.run('true');
    e2bCold.push(performance.now() - t);
    if (r === 0) {
      for (let i = 0; i < runs; i++) {
        const s = performance.now();
        await cold.commands.run('true');
        e2bRun.push(performance.now() - s);
      }
    }
    await cold.kill();

    t = performance.now();
    const vm = await p.client.call('createVm', { body: { name: `bench-cold-${r}`, memoryMib: 192 } });
    await p.client.call('waitVm', { params: { id: vm.id }, query: { state: 'running', timeout: 300 } });
    await exec(vm.id);
    hearthCold.push(performance.now() - t);
    if (r === 0) {
      for (let i = 0; i < runs; i++) {
        const s = performance.now();
        await exec(vm.id);
        hearthExec.push(performance.now() - s);
      }
    }
    await p.client.call('deleteVm', { params: { id: vm.id } });

    await poolReady();
    t = performance.now();
    const pooled = await Sandbox.create('bench-e2b', { ...opts, timeoutMs: 600_000 });
    await pooled.commands.run('true');
    e2bPool.push(performance.now() - t);
    await pooled.kill();

    await poolReady();
    t = performance.now();
    const hv = await p.client.call('createVm', { body: { name: `bench-pool-${r}`, pool: 'bench-e2b' } });
    await exec(hv.id);
    hearthPool.push(performance.now() - t);
    await p.client.call('deleteVm', { params: { id: hv.id } });
    await p.manager.vmService.drain();
  }
  await p.client.call('deletePool', { params: { id: 'bench-e2b' } }).catch(() => undefined);

  console.log(`\nE2B API benchmark (e2b SDK 2.51.0; ${rounds} rounds, ${runs} round trips)`);
  console.log(stats('e2b: Sandbox.create → first command (cold)', e2bCold));
  console.log(stats('hearth: createVm → wait → exec (cold)', hearthCold));
  console.log(stats('e2b: Sandbox.create → first command (pool)', e2bPool));
  console.log(stats('hearth: createVm(pool) → exec', hearthPool));
  console.log(stats("e2b: commands.run('true')", e2bRun));
  console.log(stats("hearth: exec ['true']", hearthExec));
  const f = (v: number[]) => `p50 ${percentile(v, 50).toFixed(0)} ms, p95 ${percentile(v, 95).toFixed(0)} ms`;
  report({
    figure: 'E2B Sandbox.create() → first command, from a warm pool',
    value: `${f(e2bPool)} (n=${e2bPool.length}); cold ${f(e2bCold)}`,
    baseline: `Hearth API pool ${f(hearthPool)}; cold ${f(hearthCold)}`,
    ratio: Number((percentile(e2bPool, 50) / percentile(hearthPool, 50)).toFixed(3)),
    target: 'within 2× of the Hearth API',
    met: percentile(e2bPool, 50) <= 2 * percentile(hearthPool, 50),
  });
  report({
    figure: "E2B commands.run('true') round trip",
    value: `${f(e2bRun)} (n=${e2bRun.length})`,
    baseline: `Hearth exec ${f(hearthExec)}`,
    ratio: Number((percentile(e2bRun, 50) / percentile(hearthExec, 50)).toFixed(3)),
    target: 'within 2× of the Hearth API',
    met: percentile(e2bRun, 50) <= 2 * percentile(hearthExec, 50),
  });
} finally {
  await p.dispose();
}
