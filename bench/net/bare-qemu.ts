// The baseline of the network benchmark: a bare QEMU on a plain TAP, no Hearth in the loop.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BOOT_MARKER } from '@hearth/images';
import { buildQemuArgs, detectAccel, hostTscKhz, QEMU_BINARY } from '@hearth/qemu';
import { sh } from '@hearth/agent';
import type { Platform } from '../../test/helpers/platform.ts';
import { whenFileContains } from '../lib.ts';
import { delLink, iperf } from './probe.ts';
import { later } from './undo.ts';

/** Appends a line to the image's /etc/inittab with debugfs (no mount). */
async function addInittabLine(disk: string, line: string, work: string): Promise<void> {
  const inittab = await sh(['debugfs', '-R', 'cat /etc/inittab', disk]);
  await writeFile(join(work, 'inittab'), `${inittab.replace(/\n?$/, '\n')}${line}\n`);
  await writeFile(join(work, 'debugfs'), `rm /etc/inittab\nwrite ${join(work, 'inittab')} /etc/inittab\n`);
  await sh(['debugfs', '-w', '-f', join(work, 'debugfs'), disk]);
}

function stopChild(child: ChildProcess): Promise<unknown> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return Promise.resolve();
  const gone = once(child, 'exit');
  child.kill('SIGKILL');
  return gone;
}

/**
 * The same kernel, image and QEMU argv on a plain TAP with a host address: no bridge, no agent.
 * Resolves with the guest's address once iperf3 answers there (started by the guest's inittab).
 */
export async function bareQemu(
  p: Platform,
  vm: { vcpus: number; memoryMib: number; kernel: string },
  rootfs: string,
  prefix: string,
  tag: string,
): Promise<string> {
  const kernel = await p.manager.stores.images.require(vm.kernel, 'default');
  const initrdName = typeof kernel.meta.initrd === 'string' ? kernel.meta.initrd : null;
  const initrd = initrdName ? await p.manager.stores.images.require(initrdName, 'default') : null;
  const dir = await mkdtemp(join(tmpdir(), 'hearth-netbench-'));
  later(`directory ${dir}`, () => rm(dir, { recursive: true, force: true }));
  const disk = join(dir, 'disk.raw');
  await copyFile(rootfs, disk);
  await addInittabLine(disk, '::respawn:/usr/bin/iperf3 -s', dir);
  const tap = `hbnq${tag}`;
  later(`TAP ${tap}`, () => delLink(tap));
  await sh(['ip', 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
  await sh(['ip', 'addr', 'add', `${prefix}.1/30`, 'dev', tap]);
  await sh(['ip', 'link', 'set', 'dev', tap, 'up']);
  // As the QEMU driver does: TSC hints under TCG (packages/qemu/src/driver.ts).
  const accel = (await detectAccel()).accel;
  const tsc = accel === 'tcg' ? await hostTscKhz() : null;
  const cmdline = [
    typeof kernel.meta.cmdline === 'string' ? kernel.meta.cmdline : 'console=ttyS0 root=/dev/vda rw',
    `hearth.hostname=netbench hearth.ip=${prefix}.2/30,,`,
    tsc ? `tsc_early_khz=${tsc} tsc=reliable` : '',
  ].join(' ');
  const consoleLog = join(dir, 'console.log');
  const args = buildQemuArgs(
    {
      vmId: `netbench-${tag}`,
      runDir: dir,
      vcpus: vm.vcpus,
      memoryMib: vm.memoryMib,
      kernelPath: kernel.path,
      initrdPath: initrd?.path ?? null,
      diskPath: disk,
      cmdline: cmdline.trim(),
      consoleLogPath: consoleLog,
      tap: { name: tap, mac: `52:54:00:${tag.match(/../g)!.join(':')}` },
      guestSocketPath: join(dir, 'guest.sock'),
    },
    accel,
  );
  const q = spawn(QEMU_BINARY, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  later('bare QEMU', () => stopChild(q));
  let stderr = '';
  q.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const died = once(q, 'exit').then(() => {
    throw new Error(`bare QEMU exited early: ${stderr.trim() || 'no stderr'}`);
  });
  died.catch(() => undefined); // observed through the races below; killed at cleanup
  await Promise.race([whenFileContains(consoleLog, BOOT_MARKER, 120_000), died]);
  const guest = `${prefix}.2`;
  await Promise.race([iperf(guest, false, 1), died]);
  return guest;
}
