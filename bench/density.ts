// Density benchmark: boots idle 128 MiB VMs until --vms (or the host refuses placement), lets
// them settle, then measures what the host pays for them (memory used, CPU busy share, QEMU
// PSS, KSM sharing) and exec latency through the API to every one of them. The agent runs as its
// own process, as hosts run it (the bundle, AGENT_NODE_FLAGS): its RSS idle and once
// `--agent-vms` VMs run (default 20), and QEMU's RSS/PSS per idle VM at that point, are rows of
// the table too, measured on these VMs instead of booting another set.
// Usage: node --import tsx bench/density.ts [--vms 50] [--idle 30] [--rounds 5] [--agent-vms 20] [--no-ksm] | --quick
import { HearthError } from '@hearth/contract';
import { AGENT_NODE_FLAGS } from '@hearth/agent/defaults';
import { runAgentProcess, startPlatform } from '../test/helpers/platform.ts';
import { bareNodeRssMiB, ensureBundle, reportAgentRss } from './agent-rss.ts';
import { arg, disposeOnSignal, percentile, settledRssMiB, stats, steadyRssMiB } from './lib.ts';
import { qemuReport } from './memory-qemu.ts';
import { enableKsm, hostCpuBusy, hostMemoryUsedMib, ksmState, processCpuTicks } from './host-stats.ts';
import { qemuFootprint } from './qemu-smaps.ts';
import { report } from './report.ts';

const quick = process.argv.includes('--quick');
const want = arg('vms', quick ? 5 : 50);
const idleS = arg('idle', quick ? 10 : 30);
const rounds = arg('rounds', quick ? 3 : 5);
const agentVms = Math.min(want, arg('agent-vms', quick ? 2 : 20));
const useKsm = !process.argv.includes('--no-ksm');
const TARGET_VMS = 50;
const TARGET_P99_MS = 100;

await ensureBundle();
const bareRss = await bareNodeRssMiB(AGENT_NODE_FLAGS);
const restoreKsm = useKsm ? await enableKsm() : async () => undefined;
const p = await startPlatform({ agent: false });
const agent = runAgentProcess(p, `dense-${p.net.bridge}`);
disposeOnSignal(async () => {
  await agent.kill('SIGTERM');
  await p.dispose();
  await restoreKsm();
});
try {
  await agent.waitFor('agent registered');
  // The default promise of 16 vCPUs per core is 32 one-vCPU VMs on a 2-core host, short of the
  // row's 50: the question here is what memory and exec latency allow, so CPU overcommit is raised.
  for (const h of await p.client.all('listHosts')) {
    const cpuOvercommit = Math.min(64, Math.ceil(want / Math.max(1, h.inventory.cpus)) + 1);
    await p.client.call('patchHost', { params: { id: h.id }, body: { cpuOvercommit } });
  }
  const fromSource = agent.output().includes('running the sources through tsx');
  const agentIdle = await settledRssMiB(agent.child.pid!);
  const before = await hostMemoryUsedMib();
  const beforeCpu = await hostCpuBusy(3000);
  const vms: { id: string; pid: number }[] = [];
  let refusal: string | null = null;
  const bootMs: number[] = [];
  for (let i = 0; i < want; i++) {
    const t0 = performance.now();
    try {
      const vm = await p.client.call('createVm', { body: { name: `dense-${i}`, memoryMib: 128 } });
      const up = await p.client.call('waitVm', {
        params: { id: vm.id },
        query: { state: 'running', timeout: 300 },
      });
      vms.push({ id: vm.id, pid: up.pid! });
    } catch (e) {
      if (!(e instanceof HearthError) || e.code !== 'NO_HOST_AVAILABLE') throw e;
      refusal = e.message;
      break;
    }
    bootMs.push(performance.now() - t0);
    if ((i + 1) % 10 === 0) console.log(`${i + 1} VMs running`);
    if (vms.length === agentVms) {
      // The agent with agentVms VMs once its RSS settles, and QEMU per idle VM at that point.
      const loaded = await settledRssMiB(agent.child.pid!);
      console.log(
        `\nagent and QEMU memory with ${vms.length} running VMs of 128 MiB (KSM ${useKsm ? 'on' : 'off'})`,
      );
      reportAgentRss({
        idleMiB: agentIdle,
        loadedMiB: loaded,
        running: vms.length,
        wanted: agentVms,
        bareMiB: bareRss,
        fromSource,
      });
      await qemuReport(
        p,
        vms.map((v) => v.pid),
      );
    }
  }
  console.log(`settling ${idleS} s with ${vms.length} idle VMs…`);
  await new Promise((r) => setTimeout(r, idleS * 1000));

  // Idle cost: host CPU busy share and each QEMU's own CPU use over the same 10 s window.
  const ticks0 = await Promise.all(vms.map((v) => processCpuTicks(v.pid)));
  const idleCpu = await hostCpuBusy(10_000);
  const ticks1 = await Promise.all(vms.map((v) => processCpuTicks(v.pid)));
  const perVmCpu = ticks1.map((t, i) => (t - ticks0[i]!) / 100 / 10); // share of one core
  const used = await hostMemoryUsedMib();
  const fp = await Promise.all(vms.map((v) => qemuFootprint(v.pid, 128)));
  const ksm = await ksmState();

  // Exec to every VM, round after round, one at a time (the latency of each, not a throughput).
  const lat: number[] = [];
  const failures: string[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const v of vms) {
      const t0 = performance.now();
      const res = await p.client.call('execVm', { params: { id: v.id }, body: { command: ['true'] } });
      lat.push(performance.now() - t0);
      if (res.exitCode !== 0) failures.push(v.id);
    }
  }

  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const p50 = percentile(lat, 50);
  const p99 = percentile(lat, 99);
  const vmMemMib = used.usedMib - before.usedMib;
  const cores = (await import('node:os')).cpus().length;
  console.log(
    `\ndensity benchmark (${vms.length} of ${want} VMs of 128 MiB booted, idle ${idleS} s, KSM ${useKsm ? 'on' : 'off'})`,
  );
  if (refusal) console.log(`placement refused VM ${vms.length + 1}: ${refusal}`);
  console.log(stats('create → running', bootMs));
  console.log(stats(`exec \`true\` through the API (${rounds} rounds)`, lat));
  console.log(`exec failures: ${failures.length}`);
  console.log(
    `host memory used: ${used.usedMib.toFixed(0)} MiB (+${vmMemMib.toFixed(0)} MiB for the VMs, ${(vmMemMib / Math.max(1, vms.length)).toFixed(1)} MiB each); available ${used.availableMib.toFixed(0)} of ${used.totalMib.toFixed(0)} MiB`,
  );
  console.log(
    `host CPU busy while idle: ${(idleCpu * 100).toFixed(1)}% of ${cores} cores (before the VMs: ${(beforeCpu * 100).toFixed(1)}%); QEMU per idle VM: ${(avg(perVmCpu) * 100).toFixed(2)}% of a core`,
  );
  console.log(
    `QEMU per VM: RSS avg ${avg(fp.map((f) => f.rssMiB)).toFixed(1)} MiB, PSS avg ${avg(fp.map((f) => f.pssMiB)).toFixed(1)} MiB (guest RAM ${avg(fp.map((f) => f.guestRamMiB)).toFixed(1)}, TCG ${avg(fp.map((f) => f.tcgMiB)).toFixed(1)}, other ${avg(fp.map((f) => f.otherMiB)).toFixed(1)})`,
  );
  console.log(
    ksm.available
      ? `KSM: run=${ksm.run}, pages_sharing ${ksm.pagesSharing} (${((ksm.pagesSharing * 4) / 1024).toFixed(0)} MiB saved), pages_shared ${ksm.pagesShared}, full scans ${ksm.fullScans}`
      : 'KSM: not available on this host',
  );
  const met = vms.length >= TARGET_VMS && p99 <= TARGET_P99_MS && failures.length === 0;
  report({
    figure: 'idle VMs held by this 2-core, 24 GiB machine, each still answering exec in ≤ 100 ms p99',
    value: `${vms.length} VMs${refusal ? ' (placement refused more)' : ''}; exec p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms (n=${lat.length}); host memory +${vmMemMib.toFixed(0)} MiB (${(vmMemMib / Math.max(1, vms.length)).toFixed(0)} MiB/VM), CPU ${(idleCpu * 100).toFixed(0)}% idle-busy; KSM saved ${((ksm.pagesSharing * 4) / 1024).toFixed(0)} MiB`,
    baseline: null,
    ratio: null,
    target: `≥ ${TARGET_VMS} VMs, exec p99 ≤ ${TARGET_P99_MS} ms, host memory and CPU reported`,
    met,
  });
  console.log(`agent RSS with ${vms.length} VMs: ${(await steadyRssMiB(agent.child.pid!)).toFixed(1)} MiB`);
  for (const v of vms) await p.client.call('deleteVm', { params: { id: v.id } });
  await p.manager.vmService.drain();
} finally {
  await agent.kill('SIGTERM');
  await p.dispose();
  await restoreKsm();
}
