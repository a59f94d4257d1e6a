// Guest agent benchmark: boot to agent-ready (API create → first successful exec), exec round
// trip through manager → agent → guest, file transfer throughput both ways, the guest agent's
// binary size and its RSS inside the guest.
// Usage: node --import tsx bench/guest.ts [--boots 10] [--execs 200] [--mib 64]
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { ensureGuestAgent } from '@hearth/images';
import { startPlatform } from '../test/helpers/platform.ts';
import { arg, stats } from './lib.ts';

const boots = arg('boots', 10);
const execs = arg('execs', 200);
const mib = arg('mib', 64);

const p = await startPlatform();
try {
  const ready: number[] = [];
  for (let i = 0; i < boots; i++) {
    const t0 = performance.now();
    const vm = await p.client.call('createVm', { body: { name: `gb-${i}` } });
    await p.client.call('waitVm', { params: { id: vm.id }, query: { state: 'running', timeout: 120 } });
    const r = await p.client.call('execVm', { params: { id: vm.id }, body: { command: ['true'] } });
    if (r.exitCode !== 0) throw new Error('exec failed');
    ready.push(performance.now() - t0);
    if (i < boots - 1) await p.client.call('deleteVm', { params: { id: vm.id } });
  }
  const vm = await p.client.call('getVm', { params: { id: `gb-${boots - 1}` } });

  const rtt: number[] = [];
  for (let i = 0; i < execs; i++) {
    const t0 = performance.now();
    await p.client.call('execVm', { params: { id: vm.id }, body: { command: ['true'] } });
    rtt.push(performance.now() - t0);
  }

  const data = Buffer.alloc(mib * 1024 * 1024);
  for (let i = 0; i < data.length; i += 4096) data.writeUInt32LE((i * 2654435761) >>> 0, i);
  const t1 = performance.now();
  await (
    await p.client.raw(
      'uploadFile',
      { params: { id: vm.id }, query: { path: '/root/blob' } },
      { body: data, headers: { 'content-type': 'application/octet-stream' } },
    )
  ).json();
  const upS = (performance.now() - t1) / 1000;
  const t2 = performance.now();
  const back = Buffer.from(
    await (
      await p.client.raw('downloadFile', { params: { id: vm.id }, query: { path: '/root/blob' } })
    ).arrayBuffer(),
  );
  const downS = (performance.now() - t2) / 1000;
  const same =
    createHash('sha256').update(back).digest('hex') === createHash('sha256').update(data).digest('hex');

  const metrics = await p.client.call('vmMetrics', { params: { id: vm.id } });
  const bin = await ensureGuestAgent();

  console.log(`\nguest agent benchmark (QEMU ${vm.accel}, ${vm.vcpus} vCPU, ${vm.memoryMib} MiB)`);
  console.log(stats('create → first successful exec', ready));
  console.log(stats('exec round trip (`true`, manager→agent→guest)', rtt));
  console.log(
    `upload ${mib} MiB: ${(mib / upS).toFixed(1)} MiB/s; download: ${(mib / downS).toFixed(1)} MiB/s; intact: ${same}`,
  );
  console.log(`guest agent binary: ${((await stat(bin.path)).size / 1024 / 1024).toFixed(2)} MiB (static)`);
  console.log(`guest agent RSS in the guest: ${(metrics.agentRssBytes / 1024 / 1024).toFixed(1)} MiB`);
} finally {
  await p.dispose();
}
