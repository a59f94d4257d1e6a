import { join } from 'node:path';
import type { VmmLaunchSpec } from '@hearth/vmm';

export const QEMU_BINARY = 'qemu-system-x86_64';

export function runFiles(runDir: string) {
  return {
    qmp: join(runDir, 'qmp.sock'),
    console: join(runDir, 'console.sock'),
    pid: join(runDir, 'qemu.pid'),
    stderr: join(runDir, 'qemu.stderr'),
  };
}

/**
 * The QEMU `microvm` command line as an argv array. The console is a socket chardev whose
 * logfile QEMU appends itself, so output is captured even while no agent is attached.
 */
export function buildQemuArgs(spec: VmmLaunchSpec, accel: 'kvm' | 'tcg'): string[] {
  const f = runFiles(spec.runDir);
  const args = [
    '-name',
    `hearth-${spec.vmId}`,
    '-machine',
    'microvm,acpi=on,rtc=on,x-option-roms=off',
    '-accel',
    accel,
    '-cpu',
    accel === 'kvm' ? 'host' : 'max',
    '-m',
    String(spec.memoryMib),
    '-smp',
    String(spec.vcpus),
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-no-reboot',
    '-kernel',
    spec.kernelPath,
    ...(spec.initrdPath ? ['-initrd', spec.initrdPath] : []),
    '-append',
    spec.cmdline,
    '-drive',
    `id=root,file=${spec.diskPath},format=raw,if=none,cache=writeback,discard=unmap`,
    '-device',
    'virtio-blk-device,drive=root',
    '-device',
    'virtio-rng-device',
    '-chardev',
    `socket,id=con0,path=${f.console},server=on,wait=off,logfile=${spec.consoleLogPath},logappend=on`,
    '-serial',
    'chardev:con0',
    '-qmp',
    `unix:${f.qmp},server=on,wait=off`,
    '-pidfile',
    f.pid,
  ];
  if (spec.tap) {
    args.push(
      '-netdev',
      `tap,id=net0,ifname=${spec.tap.name},script=no,downscript=no`,
      '-device',
      `virtio-net-device,netdev=net0,mac=${spec.tap.mac}`,
    );
  }
  return args;
}
