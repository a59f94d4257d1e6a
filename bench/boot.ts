// Boot benchmark: N sequential `create` calls through the API (time to `running` and to the
// guest's boot marker on the console), then the same kernel and rootfs under a bare
// qemu-system-x86_64 command line to the same marker, and the ratio (our overhead).
// Usage: node --import tsx bench/boot.ts [--count 20] [--raw 20]
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BOOT_MARKER } from '@hearth/images';
import { hostTscKhz } from '@hearth/qemu';
import { startPlatform } from '../test/helpers/platform.ts';
import { arg, percentile, stats, whenFileContains } from './lib.ts';

const count = arg('count', 20);
const rawCount = arg('raw', 20);

const p = await startPlatform();
const toRunning: number[] = [];
const toMarker: number[] = [];
let failures = 0;
try {
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    let id = '';
    try {
      const vm = await p.client.call('createVm', { body: { name: `bench-${i}` } });
      id = vm.id;
      const marker = whenFileContains(
        join(p.dir, 'agent', 'vms', vm.id, 'console.log'),
        BOOT_MARKER,
        120_000,
      );
      await p.client.call('waitVm', { params: { id }, query: { state: 'running', timeout: 120 } });
      toRunning.push(performance.now() - t0);
      toMarker.push((await marker) - t0);
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
  // The same kernel, initrd and rootfs, launched by hand with the flags we use, to the same marker.
  const kernel = await p.manager.stores.images.require('kernel-default', 'default');
  const initrdName = typeof kernel.meta.initrd === 'string' ? kernel.meta.initrd : null;
  const initrd = initrdName ? await p.manager.stores.images.require(initrdName, 'default') : null;
  const rootfs = await p.manager.stores.images.require('base', 'default');
  const tsc = await hostTscKhz();
  const raw: number[] = [];
  for (let i = 0; i < rawCount; i++) {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-rawboot-'));
    await copyFile(rootfs.path, join(dir, 'disk'));
    const con = join(dir, 'console');
    const cmdline = `${kernel.meta.cmdline} hearth.hostname=raw${tsc ? ` tsc_early_khz=${tsc} tsc=reliable` : ''}`;
    const t0 = performance.now();
    const q = spawn(
      'qemu-system-x86_64',
      [
        '-M',
        'microvm,acpi=on,rtc=on,x-option-roms=off',
        '-accel',
        'tcg',
        '-cpu',
        'max',
        '-m',
        '128',
        '-smp',
        '1',
        '-nodefaults',
        '-no-user-config',
        '-display',
        'none',
        '-no-reboot',
        '-kernel',
        kernel.path,
        ...(initrd ? ['-initrd', initrd.path] : []),
        '-append',
        cmdline,
        '-drive',
        `id=r,file=${join(dir, 'disk')},format=raw,if=none`,
        '-device',
        'virtio-blk-device,drive=r',
        '-serial',
        `file:${con}`,
      ],
      { stdio: 'ignore' },
    );
    try {
      raw.push((await whenFileContains(con, BOOT_MARKER, 120_000)) - t0);
    } catch (e) {
      failures++;
      console.error(`raw boot ${i} failed: ${(e as Error).message}`);
    }
    q.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
  console.log(
    `\nboot benchmark: ${count} API boots, ${rawCount} bare QEMU boots, accel tcg, 128 MiB, 1 vCPU`,
  );
  console.log(stats('API create -> running', toRunning));
  console.log(stats('API create -> guest boot marker', toMarker));
  if (raw.length) {
    console.log(stats('bare qemu-system-x86_64 -> guest boot marker', raw));
    const ratio = percentile(toRunning, 50) / percentile(raw, 50);
    console.log(`overhead ratio (p50 API->running / p50 bare QEMU->marker): ${ratio.toFixed(2)}`);
  }
  console.log(`failures or hangs: ${failures} of ${count + rawCount}`);
} finally {
  await p.dispose();
}
process.exit(failures ? 1 : 0);
