// Agent memory benchmark: the RSS of the agent process as hosts run it (`hearth agent` from the
// bundle scripts/build-bundles.mjs builds), idle and with N running VMs it booted, next to a bare
// Node.js process for scale. The manager runs in this process.
// Usage: node --import tsx bench/agent-memory.ts [--vms 20] [--quick]
// HEARTH_AGENT_HEAPSNAPSHOT=1 asks the agent for a heap snapshot (SIGUSR2) at both points; the
// files land in its working directory (this checkout) as Heap.*.heapsnapshot.
import { spawn } from 'node:child_process';
import { AGENT_NODE_FLAGS } from '@hearth/agent/defaults';
import { runAgentProcess, startPlatform } from '../test/helpers/platform.ts';
import { arg, disposeOnSignal, percentile, rssMiB } from './lib.ts';
import { report } from './report.ts';

const quick = process.argv.includes('--quick');
const n = arg('vms', quick ? 2 : 20);
const settleMs = quick ? 2000 : 5000;
const snapshots = process.env.HEARTH_AGENT_HEAPSNAPSHOT === '1';

// What hosts run: the bundle. A no-op when it matches the sources.
await new Promise<void>((resolve, reject) => {
  const b = spawn(process.execPath, ['scripts/build-bundles.mjs'], { stdio: 'inherit' });
  b.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`build-bundles exited ${code}`))));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Median of five samples a second apart: a heartbeat or a GC lands in one sample, not the figure. */
async function steadyRss(pid: number): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < 5; i++) {
    if (i) await sleep(1000);
    xs.push(await rssMiB(pid));
  }
  return percentile(xs, 50);
}

// For scale: the RSS of a Node.js process that does nothing.
const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
await sleep(1000);
const bareRss = await steadyRss(bare.pid!);
bare.kill('SIGKILL');

const p = await startPlatform({ agent: false });
// With the Node.js flags `hearth up` starts its agent with (runAgentProcess adds them).
const agent = runAgentProcess(
  p,
  `amem-${p.net.bridge}`,
  snapshots ? { NODE_OPTIONS: [...AGENT_NODE_FLAGS, '--heapsnapshot-signal=SIGUSR2'].join(' ') } : {},
);
disposeOnSignal(async () => {
  await agent.kill('SIGTERM');
  await p.dispose();
});
let failures = 0;
try {
  await agent.waitFor('agent registered');
  const fromSource = agent.output().includes('running the sources through tsx');
  const pid = agent.child.pid!;
  await sleep(settleMs);
  const idle = await steadyRss(pid);
  if (snapshots) process.kill(pid, 'SIGUSR2');
  // Four boots at a time: the 2-core machine boots them no faster with more.
  for (let i = 0; i < n; i += 4) {
    const batch = Array.from({ length: Math.min(4, n - i) }, (_, j) => `amem-${i + j}`);
    const results = await Promise.allSettled(
      batch.map(async (name) => {
        const vm = await p.client.call('createVm', { body: { name, memoryMib: 128 } });
        await p.client.call('waitVm', { params: { id: vm.id }, query: { state: 'running', timeout: 300 } });
      }),
    );
    for (const r of results) {
      if (r.status === 'rejected') {
        failures++;
        console.error(`boot failed: ${(r.reason as Error).message.split('\n')[0]}`);
      }
    }
  }
  const running = (await p.client.all('listVms')).filter((v) => v.state === 'running').length;
  await sleep(settleMs);
  const loaded = await steadyRss(pid);
  if (snapshots) process.kill(pid, 'SIGUSR2');
  const how = fromSource ? 'tsx: the bundle was stale' : 'bundle';
  console.log(`\nagent memory benchmark (${how}; ${running} running VMs of 128 MiB, TCG)`);
  console.log(`bare node process:             ${bareRss.toFixed(1)} MiB`);
  console.log(`agent RSS with 0 VMs:          ${idle.toFixed(1)} MiB`);
  console.log(`agent RSS with ${String(running).padEnd(2)} VMs:         ${loaded.toFixed(1)} MiB`);
  console.log(`per VM:                        ${((loaded - idle) / Math.max(1, running)).toFixed(2)} MiB`);
  const limit = 60 + 0.5 * n;
  report({
    figure: `agent RSS idle / with ${n} VMs`,
    value: `${idle.toFixed(0)} / ${loaded.toFixed(0)} MiB (${how})`,
    baseline: `bare node process ${bareRss.toFixed(0)} MiB`,
    ratio: null,
    target: `≤ 60 MiB + 0.5 MiB per VM (${limit} MiB with ${n})`,
    met: !fromSource && running === n && idle <= 60 && loaded <= limit,
  });
  for (const vm of await p.client.all('listVms')) await p.client.call('deleteVm', { params: { id: vm.id } });
  await p.manager.vmService.drain();
} finally {
  await agent.kill('SIGTERM');
  await p.dispose();
}
process.exit(failures ? 1 : 0);
