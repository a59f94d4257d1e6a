// E2B-compatible API benchmark: the real `e2b` SDK against a running Hearth, next to the same
// operation through Hearth's own API in the same run. Sandbox.create() → first command answered,
// cold and from a warm pool (a pool named by the template id), and the commands.run('true') round
// trip; Hearth's createVm → waitVm → exec and exec 'true' as the baselines. Then (e2b-extra.ts)
// 10 MB file write/read throughput, SDK vs /v1/vms/{id}/files, and pause to disk / resume on
// connect with the QEMU RSS it releases, next to Hearth's in-memory pause and resume.
// Usage: node --import tsx bench/e2b.ts [--rounds 5] [--runs 30] [--quick]
import { Sandbox } from 'e2b';
import { startPlatform } from '../test/helpers/platform.ts';
import { fileThroughput, FILE_MB, pauseResume, type FileFigures } from './e2b-extra.ts';
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
  let files: FileFigures | null = null;
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
      files = await fileThroughput(p, cold, Math.min(runs, 5));
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
  await p.manager.vmService.drain();
  const pr = await pauseResume(p, opts, rounds);

  console.log(`\nE2B API benchmark (e2b SDK 2.51.0; ${rounds} rounds, ${runs} round trips)`);
  console.log(stats('e2b: Sandbox.create → first command (cold)', e2bCold));
  console.log(stats('hearth: createVm → wait → exec (cold)', hearthCold));
  console.log(stats('e2b: Sandbox.create → first command (pool)', e2bPool));
  console.log(stats('hearth: createVm(pool) → exec', hearthPool));
  console.log(stats("e2b: commands.run('true')", e2bRun));
  console.log(stats("hearth: exec ['true']", hearthExec));
  const fx = files!;
  console.log(stats(`e2b: files.write ${FILE_MB} MB`, fx.e2bWrite, 'MB/s'));
  console.log(stats(`hearth: PUT /files ${FILE_MB} MB`, fx.hearthWrite, 'MB/s'));
  console.log(stats(`e2b: files.read ${FILE_MB} MB`, fx.e2bRead, 'MB/s'));
  console.log(stats(`hearth: GET /files ${FILE_MB} MB`, fx.hearthRead, 'MB/s'));
  console.log(stats('e2b: pause (snapshot to disk, VM released)', pr.e2bPause));
  console.log(stats('hearth: pauseVm (in memory)', pr.hearthPause));
  console.log(stats('e2b: connect (restore) → first command', pr.e2bResume));
  console.log(stats('hearth: resumeVm → exec (in memory)', pr.hearthResume));
  console.log(stats('e2b: QEMU RSS released by pause', pr.rssReleased, 'MiB'));
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
  const mb = (v: number[]) => `p50 ${percentile(v, 50).toFixed(1)} MB/s`;
  report({
    figure: `E2B files.write / files.read, ${FILE_MB} MB`,
    value: `write ${mb(fx.e2bWrite)}, read ${mb(fx.e2bRead)} (n=${fx.e2bWrite.length})`,
    baseline: `Hearth /files write ${mb(fx.hearthWrite)}, read ${mb(fx.hearthRead)}`,
    ratio: Number((percentile(fx.e2bWrite, 50) / percentile(fx.hearthWrite, 50)).toFixed(3)),
    target: 'at least half the Hearth API write throughput',
    met: percentile(fx.e2bWrite, 50) >= 0.5 * percentile(fx.hearthWrite, 50),
  });
  report({
    figure: 'E2B pause (to disk) and connect (restore → first command)',
    value: `pause ${f(pr.e2bPause)}, resume ${f(pr.e2bResume)}, QEMU RSS released p50 ${percentile(pr.rssReleased, 50).toFixed(0)} MiB (n=${pr.e2bPause.length})`,
    baseline: `Hearth in-memory pause ${f(pr.hearthPause)}, resume → exec ${f(pr.hearthResume)} (nothing released)`,
    ratio: Number((percentile(pr.e2bResume, 50) / percentile(pr.hearthResume, 50)).toFixed(3)),
    target: 'the VMM process gone while paused',
    met: pr.rssReleased.length === rounds,
  });
} finally {
  await p.dispose();
}
