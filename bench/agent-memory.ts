// Agent memory benchmark: the RSS of the agent process as hosts run it (`hearth agent` from the
// bundle scripts/build-bundles.mjs builds), idle and with N running VMs it booted, next to a bare
// Node.js process for scale. The manager runs in this process.
// Usage: node --import tsx bench/agent-memory.ts [--vms 20] [--quick]
// HEARTH_AGENT_HEAPSNAPSHOT=1 asks the agent for a heap snapshot (SIGUSR2) at both points; the
// files land in its working directory (this checkout) as Heap.*.heapsnapshot.
import { AGENT_NODE_FLAGS } from '@hearth/agent/defaults';
import { runAgentProcess, startPlatform } from '../test/helpers/platform.ts';
import { arg, disposeOnSignal, settledRssMiB } from './lib.ts';
import { bareNodeRssMiB, ensureBundle, reportAgentRss } from './agent-rss.ts';

const quick = process.argv.includes('--quick');
const n = arg('vms', quick ? 2 : 20);
const snapshots = process.env.HEARTH_AGENT_HEAPSNAPSHOT === '1';

await ensureBundle();

// For scale: the RSS of a Node.js process that does nothing.
const bareRss = await bareNodeRssMiB(AGENT_NODE_FLAGS);

const p = await startPlatform({ agent: false });
// With the Node.js flags `hearth up` starts its agent with (runAgentProcess adds them).
const agent = runAgentProcess(
  p,
  `amem-${p.net.bridge}`,
  snapshots ? { NODE_OPTIONS: '--heapsnapshot-signal=SIGUSR2' } : {},
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
  const idle = await settledRssMiB(pid);
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
  const loaded = await settledRssMiB(pid);
  if (snapshots) process.kill(pid, 'SIGUSR2');
  console.log(`\nagent memory benchmark (${running} running VMs of 128 MiB, TCG)`);
  reportAgentRss({ idleMiB: idle, loadedMiB: loaded, running, wanted: n, bareMiB: bareRss, fromSource });
  for (const vm of await p.client.all('listVms')) await p.client.call('deleteVm', { params: { id: vm.id } });
  await p.manager.vmService.drain();
} finally {
  await agent.kill('SIGTERM');
  await p.dispose();
}
process.exit(failures ? 1 : 0);
