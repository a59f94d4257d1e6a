// Snapshot benchmark on a 256 MiB VM: snapshot create time and size; restore time (API call to
// the first successful exec) in place and as a clone, against a cold boot in the same run, with
// the host's restore steps (network, load, resume, identity); per-VM disk creation time and the
// space it really uses.
// Usage: node --import tsx bench/snapshots.ts [--runs 10] [--quick]
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { prepareDisk } from '@hearth/agent';
import { startPlatform } from '../test/helpers/platform.ts';
import { arg, percentile, stats } from './lib.ts';
import { report } from './report.ts';

const quick = process.argv.includes('--quick');
const runs = arg('runs', quick ? 2 : 10);
const p = await startPlatform();
const running = (id: string) =>
  p.client.call('waitVm', { params: { id }, query: { state: 'running', timeout: 600 } });
const execReady = async (id: string) => {
  await running(id);
  await p.client.call('execVm', { params: { id }, body: { command: ['true'] } });
};
/** The agent's own record of the host steps of the VM's last restore, by step name. */
const steps = new Map<string, Map<string, number[]>>();
const noteSteps = (kind: string, id: string) => {
  const s = p.agent?.supervisor.status(id).bootSteps ?? [];
  const byName = steps.get(kind) ?? new Map<string, number[]>();
  steps.set(kind, byName);
  for (const { name, ms } of s) byName.set(name, [...(byName.get(name) ?? []), ms]);
};
const p50 = (v: number[]) => Math.round(percentile(v, 50));
try {
  const cold: number[] = [];
  const create: number[] = [];
  const sizes: number[] = [];
  const inPlace: number[] = [];
  const clone: number[] = [];
  const diskAlloc: number[] = [];
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    const vm = await p.client.call('createVm', { body: { name: `sb-${i}`, memoryMib: 256 } });
    await execReady(vm.id);
    cold.push(performance.now() - t);
    const disk = await stat(join(p.dir, 'agent', 'vms', vm.id, 'disk.raw'));
    diskAlloc.push((disk.blocks * 512) / 2 ** 20);

    t = performance.now();
    const snap = await p.client.call('createSnapshot', {
      params: { id: vm.id },
      body: { name: `sb-snap-${i}` },
    });
    create.push(performance.now() - t);
    sizes.push(snap.sizeBytes / 2 ** 20);

    t = performance.now();
    await p.client.call('restoreVm', { params: { id: vm.id }, body: { snapshot: snap.id } });
    await execReady(vm.id);
    inPlace.push(performance.now() - t);
    noteSteps('restore in place', vm.id);

    t = performance.now();
    const c = await p.client.call('cloneSnapshot', {
      params: { id: snap.id },
      body: { name: `sb-clone-${i}` },
    });
    await execReady(c.id);
    clone.push(performance.now() - t);
    noteSteps('clone', c.id);

    for (const id of [vm.id, c.id]) await p.client.call('deleteVm', { params: { id } });
    await p.manager.vmService.drain();
    await p.client.call('deleteSnapshot', { params: { id: snap.id } });
  }
  // Per-VM root disk: a sparse (reflink where possible) copy of the image grown to 1 GiB.
  const base = await p.client.call('getImage', { params: { id: 'base' } });
  const diskMake: number[] = [];
  for (let i = 0; i < runs; i++) {
    const target = join(p.dir, `bench-disk-${i}.raw`);
    const t = performance.now();
    await prepareDisk(base.path, target, 2 ** 30);
    diskMake.push(performance.now() - t);
    await rm(target, { force: true });
  }
  console.log(`\nsnapshot benchmark (QEMU TCG, 1 vCPU, 256 MiB guest, ${runs} runs)`);
  console.log(stats('cold boot: create → first exec', cold));
  console.log(stats('snapshot create (VM keeps running)', create));
  console.log(stats('snapshot size on disk', sizes, 'MiB'));
  console.log(stats('restore in place: call → first exec', inPlace));
  console.log(stats('clone from snapshot: call → first exec', clone));
  for (const [kind, byName] of steps) {
    const line = [...byName].map(([name, v]) => `${name} ${p50(v)}`).join(', ');
    console.log(`  host steps of a ${kind}, p50 ms: ${line || 'not recorded'}`);
  }
  console.log(stats('per-VM root disk: creation (1 GiB, sparse)', diskMake));
  console.log(stats('per-VM root disk, space really used', diskAlloc, 'MiB'));

  const ratio = (v: number[]) => Math.round((p50(v) / p50(cold)) * 100) / 100;
  report({
    figure: 'restore from snapshot → first exec, vs cold create → first exec',
    value: `p50 ${p50(inPlace)} ms (n=${inPlace.length})`,
    baseline: `p50 ${p50(cold)} ms (n=${cold.length})`,
    ratio: ratio(inPlace),
    target: '≤ 0.25',
    met: ratio(inPlace) <= 0.25,
  });
  report({
    figure: 'clone from snapshot → first exec, vs cold create → first exec',
    value: `p50 ${p50(clone)} ms (n=${clone.length})`,
    baseline: `p50 ${p50(cold)} ms (n=${cold.length})`,
    ratio: ratio(clone),
    target: '≤ 0.25',
    met: ratio(clone) <= 0.25,
  });
  report({
    figure: 'snapshot create (256 MiB guest, VM keeps running)',
    value: `p50 ${p50(create)} ms, ${percentile(sizes, 50).toFixed(1)} MiB`,
    baseline: null,
    ratio: null,
    target: 'reported',
    met: true,
  });
} finally {
  await p.dispose();
}
