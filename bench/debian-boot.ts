// Debian boot benchmark: `create` → running (the guest agent's session) for debian-12 and the
// busybox base image, interleaved one for one in one run, plus how long systemd then takes to
// finish booting (`systemctl is-system-running --wait`), and the images' sizes. Every boot must
// reach ready and every debian-12 boot must end `running`: any failure makes the exit code 1, so
// `--count 50` is the reliability run ("50 boots, zero failures"). `--parallel 2` runs that many
// lanes of boots side by side (the host's boot queue still bounds how many launch at once), which
// halves the run's wall time on a 2-core host; the timings are then under contention, not solo.
// `--image debian-13` runs the same against debian-13.
// Usage: node --import tsx bench/debian-boot.ts [--count 10] [--memory 512] [--parallel 1]
//   [--image debian-12|debian-13]
import { stat } from 'node:fs/promises';
import { ensureDistro, type DistroName } from '@hearth/images';
import { startPlatform } from '../test/helpers/platform.ts';
import { arg, disposeOnSignal, percentile, stats } from './lib.ts';
import { report } from './report.ts';

const count = arg('count', 10);
const memoryMib = arg('memory', 512);
const lanes = Math.max(1, Math.min(count, arg('parallel', 1)));

const t0 = performance.now();
const imageArg = process.argv.includes('--image')
  ? process.argv[process.argv.indexOf('--image') + 1]
  : 'debian-12';
if (imageArg !== 'debian-12' && imageArg !== 'debian-13') throw new Error('--image: debian-12 or debian-13');
const distro: DistroName = imageArg;
const art = await ensureDistro(distro);
const buildMs = performance.now() - t0;
const p = await startPlatform();
disposeOnSignal(() => p.dispose());
const toRunning: Record<'distro' | 'base', number[]> = { distro: [], base: [] };
const toSystemReady: number[] = [];
let failures = 0;
try {
  // Untimed first boots: the manager registers debian-12 on first use and the agent prepares each
  // image once; neither is the boot being measured.
  await boot('distro', -1, false);
  await boot('base', -1, false);
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < count; i = next++) {
      await boot('distro', i);
      await boot('base', i);
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  const base = await p.manager.stores.images.require('base', 'default');
  const deb = await p.manager.stores.images.require(distro, 'default');
  console.log(`\nDebian boot benchmark: ${count} ${distro} boots interleaved with ${count} base boots,`);
  console.log(`${memoryMib} MiB, 1 vCPU, VMM default (accel as the host allows), ${lanes} lane(s) at once`);
  console.log(
    `${distro} image: ${mib(deb.size_bytes)} (${mib((await stat(art.path)).blocks * 512)} on disk)`,
  );
  console.log(`base image:      ${mib(base.size_bytes)}`);
  console.log(`${distro} build (or cache lookup) in this run: ${(buildMs / 1000).toFixed(1)} s`);
  console.log(stats('base      create -> running', toRunning.base));
  console.log(stats(`${distro} create -> running`, toRunning.distro));
  console.log(stats(`${distro} create -> systemd running`, toSystemReady));
  const deb50 = percentile(toRunning.distro, 50);
  const base50 = percentile(toRunning.base, 50);
  const ratio = deb50 / base50;
  report({
    figure: `${distro} create → guest agent ready, vs the base image`,
    value: `p50 ${deb50.toFixed(0)} ms, p95 ${percentile(toRunning.distro, 95).toFixed(0)} ms (n=${toRunning.distro.length})`,
    baseline: `p50 ${base50.toFixed(0)} ms, p95 ${percentile(toRunning.base, 95).toFixed(0)} ms (n=${toRunning.base.length})`,
    ratio: Number.isFinite(ratio) ? Number(ratio.toFixed(2)) : null,
    target: `${count} of ${count} ${distro} boots ready and systemd running`,
    met: failures === 0,
  });
  console.log(`failures: ${failures} of ${count * 2}`);
} finally {
  await p.dispose();
}
process.exit(failures ? 1 : 0);

function mib(bytes: number | string): string {
  return `${(Number(bytes) / 2 ** 20).toFixed(0)} MiB`;
}

async function boot(which: 'distro' | 'base', i: number, record = true): Promise<void> {
  const image = which === 'base' ? 'base' : distro;
  const t0 = performance.now();
  let id = '';
  try {
    const name = record ? `bench-${image}-${i}` : `warm-${image}`;
    const vm = await p.client.call('createVm', { body: { name, image, memoryMib } });
    id = vm.id;
    await p.client.call('waitVm', { params: { id }, query: { state: 'running', timeout: 300 } });
    if (record) toRunning[which].push(performance.now() - t0);
    if (which === 'distro' && record) {
      const r = await p.client.call('execVm', {
        params: { id },
        body: {
          command: 'systemctl is-system-running --wait; systemctl --failed --no-legend --plain',
          timeoutMs: 600_000,
        },
      });
      if (r.stdout.split('\n')[0] !== 'running') throw new Error(`systemd: ${r.stdout.trim()}`);
      if (record) toSystemReady.push(performance.now() - t0);
    }
    // One line per boot: a run stopped early (a debian-12 boot takes minutes under TCG) still says
    // how many boots it made without a failure.
    if (record) console.log(`${image} boot ${i}: ok in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } catch (e) {
    if (record) failures++;
    console.error(`${image} boot ${i} failed: ${(e as Error).message.split('\n')[0]}`);
  }
  if (id) {
    await p.client.call('deleteVm', { params: { id } });
    await p.client
      .call('waitVm', { params: { id }, query: { state: 'stopped', timeout: 60 } })
      .catch(() => undefined);
  }
}
