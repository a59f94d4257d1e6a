// Image benchmark: OCI import of the test image (umoci-built busybox + script, pushed to a local
// docker-registry) through skopeo + umoci + mke2fs -d, a cached re-import (digest hit), and
// create-to-first-exec of VMs booted from it (guest agent as PID 1, image fetched by the agent
// over HTTP the first time, cached by digest after). One VM at a time.
// Usage: node --import tsx bench/images.ts [--imports 5] [--boots 5]
import { startPlatform } from '../test/helpers/platform.ts';
import { pushTestImage, startRegistry } from '../test/helpers/oci.ts';
import { arg, stats } from './lib.ts';

const imports = arg('imports', 5);
const boots = arg('boots', 5);
const reg = await startRegistry();
const p = await startPlatform({ alwaysFetchImages: true, manager: { importAllow: [reg.host] } });
try {
  const c = p.client;
  const cold: number[] = [];
  const warm: number[] = [];
  let imageId = '';
  let size = 0;
  for (let i = 0; i < imports; i++) {
    // A new tag per round (umoci stamps a new creation time, so a new digest): a real pull every time.
    const ref = await pushTestImage(reg.host, 'bench/hello', `r${i}`);
    let t0 = performance.now();
    const img = await c.call('importImage', { body: { ref } });
    cold.push(performance.now() - t0);
    t0 = performance.now();
    await c.call('importImage', { body: { ref } });
    warm.push(performance.now() - t0);
    imageId = img.id;
    size = img.sizeBytes;
  }
  console.log(`\nOCI test image: ext4 ${(size / 2 ** 20).toFixed(0)} MiB (sparse)`);
  console.log(stats('OCI import (resolve, pull, unpack, mke2fs)', cold));
  console.log(stats('OCI re-import (same digest, reused)', warm));

  const firstExec: number[] = [];
  for (let i = 0; i < boots; i++) {
    const t0 = performance.now();
    const vm = await c.call('createVm', { body: { name: `oci-${i}`, image: imageId, memoryMib: 128 } });
    await c.call('waitVm', { params: { id: vm.id }, query: { state: 'running', timeout: 120 } });
    const r = await c.call('execVm', { params: { id: vm.id }, body: { command: ['cat', '/proc/1/comm'] } });
    if (r.stdout.trim() !== 'hearth-guest') throw new Error(`PID 1 is ${r.stdout}`);
    firstExec.push(performance.now() - t0);
    await c.call('deleteVm', { params: { id: vm.id } });
    await p.manager.vmService.drain();
  }
  console.log(stats('OCI VM: create to first exec (PID 1 agent)', firstExec));
  console.log('(the first boot includes the agent fetching the image over HTTP; later ones hit its cache)');
} finally {
  await p.dispose();
  await reg.dispose();
}
