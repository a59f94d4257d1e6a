// Functions benchmark (node22, a trivial handler), all in one run on one platform:
//  - warm invoke overhead: the API's total time minus the handler's own time, and the client's
//    round trip, over `--warm` invocations on one warm instance;
//  - cold start from zero: an invocation after the idle instance was removed (restore from the
//    version's snapshot + invoke), against a cold boot of a VM of the same image until `node`
//    runs in it (create → running → exec `node -e 0` answered);
//  - throughput at 1, 10 and 50 concurrent clients (2 instances, concurrency 10).
// Usage: node --import tsx bench/functions.ts [--warm 100] [--runs 3] [--calls 200]
import type { InvokeResult } from '@hearth/contract';
import { startPlatform } from '../test/helpers/platform.ts';
import { until } from '../test/helpers/vm.ts';
import { arg, percentile, stats } from './lib.ts';

const warmN = arg('warm', 100);
const runs = arg('runs', 3);
const calls = arg('calls', 200);
const CODE = 'exports.handler = async (event) => ({ echo: event.i ?? null });\n';

const p = await startPlatform();
try {
  const c = p.client;
  const invoke = async (event: unknown) =>
    (await c.call('invokeFunction', {
      params: { name: 'bench' },
      body: event,
      query: {},
    } as never)) as InvokeResult;
  let t0 = performance.now();
  const f = await c.call('createFunction', {
    body: {
      name: 'bench',
      runtime: 'node22',
      handler: 'index.handler',
      files: { 'index.js': CODE },
      idleS: 2,
      maxInstances: 2,
      concurrency: 10,
      queue: 1000,
    },
  } as never);
  for (;;) {
    const v = await c.call('getFunctionVersion', {
      params: { name: 'bench', version: f.building! },
      query: { wait: 60 },
    } as never);
    if (v.state === 'failed') throw new Error(v.error ?? 'deploy failed');
    if (v.state === 'ready') break;
  }
  console.log(
    `deploy (boot, load, snapshot; includes any first build of the image): ${(performance.now() - t0).toFixed(0)} ms`,
  );

  await invoke({ i: 0 });
  const overhead: number[] = [];
  const roundTrip: number[] = [];
  for (let i = 0; i < warmN; i++) {
    t0 = performance.now();
    const r = await invoke({ i });
    roundTrip.push(performance.now() - t0);
    if (r.cold) continue;
    overhead.push(r.totalMs - r.durationMs);
  }

  const info = () => c.call('getFunction', { params: { name: 'bench' }, query: {} } as never);
  const fromZero: number[] = [];
  const vmBoot: number[] = [];
  for (let i = 0; i < runs; i++) {
    await until('scaled to zero', async () => (await info()).instances === 0, 300_000);
    t0 = performance.now();
    const r = await invoke({ i });
    if (!r.cold) throw new Error('expected a cold invocation after scale to zero');
    fromZero.push(performance.now() - t0);

    t0 = performance.now();
    const vm = await c.call('createVm', {
      body: { name: `fb-boot-${i}`, image: 'runtime-node22', memoryMib: 128 },
    });
    await c.call('waitVm', { params: { id: vm.id }, query: { state: 'running', timeout: 600 } });
    for (;;) {
      const ok = await c
        .call('execVm', { params: { id: vm.id }, body: { command: ['node', '-e', '0'] } } as never)
        .then(
          (x) => (x as { exitCode: number }).exitCode === 0,
          () => false,
        );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    vmBoot.push(performance.now() - t0);
    await c.call('deleteVm', { params: { id: vm.id }, query: { force: 'true' } as never });
  }

  const throughput: string[] = [];
  for (const clients of [1, 10, 50]) {
    let next = 0;
    t0 = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (next < calls) {
          next++;
          await invoke({ i: next });
        }
      }),
    );
    const s = (performance.now() - t0) / 1000;
    throughput.push(`${clients} clients: ${(calls / s).toFixed(1)} invocations/s (${calls} calls)`);
  }

  console.log(stats('warm invoke overhead (API total − handler)', overhead, 'ms', 1));
  console.log(stats('warm invoke client round trip', roundTrip, 'ms', 1));
  console.log(stats('cold from zero (snapshot restore + invoke)', fromZero));
  console.log(stats('cold VM boot of runtime-node22 until node runs', vmBoot));
  console.log(
    `cold from snapshot / cold boot (p50): ${(percentile(fromZero, 50) / percentile(vmBoot, 50)).toFixed(2)}`,
  );
  for (const t of throughput) console.log(`throughput ${t}`);
} finally {
  await p.dispose();
}
