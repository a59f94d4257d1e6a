// Boot benchmark: `create` calls through the API (time to `running` and to the guest's boot
// marker on the console), interleaved one for one with the same kernel and rootfs under a bare
// qemu-system-x86_64 command line (same machine type, accel, CPU, memory and tsc flags) to the
// same marker; the ratio is our overhead. Also prints where each API boot's time went (the VM's
// boot profile, p50 per step).
// Usage: node --import tsx bench/boot.ts [--count 20] [--quick]
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BOOT_MARKER } from '@hearth/images';
import { hostTscKhz } from '@hearth/qemu';
import { startPlatform, type Platform } from '../test/helpers/platform.ts';
import { arg, percentile, stats, whenFileContains } from './lib.ts';
import { report } from './report.ts';

const quick = process.argv.includes('--quick');
const count = arg('count', quick ? 5 : 20);

const p = await startPlatform();
const toRunning: number[] = [];
const toMarker: number[] = [];
const raw: number[] = [];
const steps = new Map<string, number[]>();
/** API → running less the recorded steps: HTTP, the manager's state write, the wait's answer. */
const outside: number[] = [];
/** The guest's own clock (its uptime, printed on the console) at the boot marker and at `agent up`. */
const guestMarker: number[] = [];
const guestAgentUp: number[] = [];
const bareGuestMarker: number[] = [];
let failures = 0;
try {
  const bare = await bareBoot(p);
  for (let i = 0; i < count; i++) {
    await apiBoot(i);
    try {
      raw.push(await bare());
    } catch (e) {
      failures++;
      console.error(`raw boot ${i} failed: ${(e as Error).message}`);
    }
  }
  console.log(
    `\nboot benchmark: ${count} API boots interleaved with ${count} bare QEMU boots, accel tcg, 128 MiB, 1 vCPU`,
  );
  console.log(stats('API create -> running', toRunning));
  console.log(stats('API create -> guest boot marker', toMarker));
  for (const [name, ms] of steps) console.log(stats(`  step ${name}`, ms));
  console.log(stats('  outside the steps', outside));
  if (raw.length) console.log(stats('bare qemu-system-x86_64 -> guest boot marker', raw));
  console.log(stats('guest clock at the boot marker, API boots', guestMarker));
  console.log(stats('guest clock at the boot marker, bare boots', bareGuestMarker));
  console.log(stats('guest clock, boot marker -> agent up, API boots', guestAgentUp));
  const api50 = percentile(toRunning, 50);
  const raw50 = percentile(raw, 50);
  const ratio = api50 / raw50;
  const overhead = api50 - raw50;
  if (raw.length && toRunning.length) {
    console.log(
      `overhead ratio (p50 API->running / p50 bare QEMU->marker): ${ratio.toFixed(2)}, +${overhead.toFixed(0)} ms`,
    );
  }
  report({
    figure: 'API create → guest agent ready, vs bare qemu-system-x86_64 to the boot marker',
    value: `p50 ${api50.toFixed(0)} ms (n=${toRunning.length}), +${overhead.toFixed(0)} ms`,
    baseline: `p50 ${raw50.toFixed(0)} ms (n=${raw.length})`,
    ratio: Number.isFinite(ratio) ? Number(ratio.toFixed(2)) : null,
    target: '≤ 1.15, and absolute overhead ≤ 120 ms p50',
    met: Number.isFinite(ratio) && ratio <= 1.15 && overhead <= 120,
  });
  console.log(`failures or hangs: ${failures} of ${count * 2}`);
} finally {
  await p.dispose();
}
process.exit(failures ? 1 : 0);

async function apiBoot(i: number): Promise<void> {
  const t0 = performance.now();
  let id = '';
  try {
    const vm = await p.client.call('createVm', { body: { name: `bench-${i}` } });
    id = vm.id;
    const marker = whenFileContains(join(p.dir, 'agent', 'vms', vm.id, 'console.log'), BOOT_MARKER, 120_000);
    marker.catch(() => undefined); // awaited below once the VM runs
    await p.client.call('waitVm', { params: { id }, query: { state: 'running', timeout: 120 } });
    const running = performance.now() - t0;
    toRunning.push(running);
    toMarker.push((await marker) - t0);
    const { boot } = await p.client.call('getVm', { params: { id } });
    for (const s of boot?.steps ?? []) steps.set(s.name, [...(steps.get(s.name) ?? []), s.ms]);
    if (boot) outside.push(running - boot.steps.reduce((n, s) => n + s.ms, 0));
    const log = await readFile(join(p.dir, 'agent', 'vms', vm.id, 'console.log'), 'utf8');
    const at = guestClock(log);
    const up = /agent up \(([\d.]+)s\)/.exec(log);
    if (at !== null) guestMarker.push(at);
    if (at !== null && up) guestAgentUp.push(Number(up[1]) * 1000 - at);
  } catch (e) {
    failures++;
    console.error(`boot ${i} failed: ${(e as Error).message.split('\n')[0]}`);
  }
  if (id) {
    await p.client.call('deleteVm', { params: { id } });
    await p.client
      .call('waitVm', { params: { id }, query: { state: 'stopped', timeout: 60 } })
      .catch(() => undefined);
  }
}

/** One bare boot of the same kernel, initrd and rootfs, launched by hand with the flags we use. */
async function bareBoot(p: Platform): Promise<() => Promise<number>> {
  const kernel = await p.manager.stores.images.require('kernel-default', 'default');
  const initrdName = typeof kernel.meta.initrd === 'string' ? kernel.meta.initrd : null;
  const initrd = initrdName ? await p.manager.stores.images.require(initrdName, 'default') : null;
  const rootfs = await p.manager.stores.images.require('base', 'default');
  const tsc = await hostTscKhz();
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-rawboot-'));
    try {
      await copyFile(rootfs.path, join(dir, 'disk'));
      const con = join(dir, 'console');
      const cmdline = `${kernel.meta.cmdline} hearth.hostname=raw${tsc ? ` tsc_early_khz=${tsc} tsc=reliable` : ''}`;
      const t0 = performance.now();
      const q = spawn(
        'qemu-system-x86_64',
        [
          ...['-M', 'microvm,acpi=on,rtc=on,x-option-roms=off', '-accel', 'tcg', '-cpu', 'max'],
          ...['-m', '128', '-smp', '1', '-nodefaults', '-no-user-config', '-display', 'none'],
          ...['-no-reboot', '-kernel', kernel.path, ...(initrd ? ['-initrd', initrd.path] : [])],
          ...['-append', cmdline, '-drive', `id=r,file=${join(dir, 'disk')},format=raw,if=none`],
          ...['-device', 'virtio-blk-device,drive=r', '-serial', `file:${con}`],
        ],
        { stdio: 'ignore' },
      );
      try {
        const ms = (await whenFileContains(con, BOOT_MARKER, 120_000)) - t0;
        const at = guestClock(await readFile(con, 'utf8'));
        if (at !== null) bareGuestMarker.push(at);
        return ms;
      } finally {
        q.kill('SIGKILL');
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
}

/** The guest's uptime in ms when it printed the boot marker (`hearth-guest: booted in 1.23s`). */
function guestClock(consoleLog: string): number | null {
  const m = /booted in ([\d.]+)s/.exec(consoleLog);
  return m ? Number(m[1]) * 1000 : null;
}
