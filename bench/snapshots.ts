// Snapshot benchmark on a 256 MiB VM: snapshot create time and size; restore time (API call to
// the first successful exec) in place and as a clone, against a cold boot in the same run; per-VM
// disk creation time and the space it really uses.
// Usage: node --import tsx bench/snapshots.ts [--runs 10]
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { prepareDisk } from '@hearth/agent';
import { startPlatform } from '../test/helpers/platform.ts';
import { arg, stats } from './lib.ts';

const runs = arg('runs', 10);
const p = await startPlatform();
const running = (id: string) =>
  p.client.call('waitVm', { params: { id }, query: { state: 'running', timeout: 120 } });
const execReady = async (id: string) => {
  await running(id);
  await p.client.call('execVm', { params: { id }, body: { command: ['true'] } });
};
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

    t = performance.now();
    const c = await p.client.call('cloneSnapshot', {
      params: { id: snap.id },
      body: { name: `sb-clone-${i}` },
    });
    await execReady(c.id);
    clone.push(performance.now() - t);

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
  console.log(stats('per-VM root disk: creation (1 GiB, sparse)', diskMake));
  console.log(stats('per-VM root disk, space really used', diskAlloc, 'MiB'));
} finally {
  await p.dispose();
}
