// Memory benchmark: agent RSS with 0 and with N running VMs, QEMU RSS and PSS per idle VM
// (split into guest RAM, TCG translation cache and the rest; bench/qemu-footprint.ts compares
// argv choices), and what free page reporting gives back after a guest frees memory.
// The agent runs as its own process (as on a real host); the manager runs in this process.
// Usage: node --import tsx bench/memory.ts [--vms 20] [--quick]
import { runAgentProcess, startPlatform } from '../test/helpers/platform.ts';
import { arg, rssMiB } from './lib.ts';
import { qemuReport } from './memory-qemu.ts';

const n = arg('vms', process.argv.includes('--quick') ? 3 : 20);
const p = await startPlatform({ agent: false });
// As `hearth up` runs it: its own process, with the Node.js flags `hearth up` gives it.
const agent = runAgentProcess(p, `mem-${p.net.bridge}`);
try {
  await agent.waitFor('agent registered');
  await new Promise((r) => setTimeout(r, 2000));
  const idle = await rssMiB(agent.child.pid!);
  const pids: number[] = [];
  for (let i = 0; i < n; i++) {
    const vm = await p.client.call('createVm', { body: { name: `mem-${i}`, memoryMib: 128 } });
    const up = await p.client.call('waitVm', {
      params: { id: vm.id },
      query: { state: 'running', timeout: 180 },
    });
    pids.push(up.pid!);
  }
  await new Promise((r) => setTimeout(r, 5000));
  const loaded = await rssMiB(agent.child.pid!);
  const qemu = await Promise.all(pids.map(rssMiB));
  const avg = qemu.reduce((a, b) => a + b, 0) / qemu.length;
  console.log(`\nmemory benchmark (${n} VMs of 128 MiB, idle at a login prompt, TCG)`);
  console.log(`agent RSS with 0 VMs:  ${idle.toFixed(1)} MiB`);
  console.log(`agent RSS with ${n} VMs: ${loaded.toFixed(1)} MiB`);
  console.log(
    `QEMU RSS per idle VM:  avg ${avg.toFixed(1)} MiB, min ${Math.min(...qemu).toFixed(1)}, max ${Math.max(...qemu).toFixed(1)}`,
  );
  await qemuReport(p, pids);
  for (const id of (await p.client.all('listVms')).map((v) => v.id))
    await p.client.call('deleteVm', { params: { id } });
  await p.manager.vmService.drain();
} finally {
  await agent.kill('SIGTERM');
  await p.dispose();
}
