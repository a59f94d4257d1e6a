import { QEMU_SANDBOX } from './confine.ts';
import { CONFIG_DISK_SERIAL, GUEST_AGENT_PORT_NAME, runDirPaths, type VmmLaunchSpec } from '@hearth/vmm';

export const GUEST_CHARDEV_ID = 'agent0';

/** The root disk path, read back from an adopted QEMU's argv. */
export function diskFromArgs(argv: string[]): string | null {
  const arg = argv.find((a) => a.startsWith('id=root,file='));
  return arg ? arg.slice('id=root,file='.length).split(',')[0]! : null;
}

export function vmIdFromArgs(argv: string[]): string {
  const i = argv.indexOf('-name');
  return i >= 0 ? (argv[i + 1] ?? '').replace(/^hearth-/, '') : '';
}

/** The guest channel's socket path, read back from an adopted QEMU's argv. */
export function guestSocketFromArgs(argv: string[]): string | null {
  const prefix = `socket,id=${GUEST_CHARDEV_ID},path=`;
  const arg = argv.find((a) => a.startsWith(prefix));
  return arg ? arg.slice(prefix.length).split(',')[0]! : null;
}

export const QEMU_BINARY = 'qemu-system-x86_64';

/** QEMU's own files in a run directory (names from the one run-directory table). */
export function runFiles(runDir: string) {
  const f = runDirPaths(runDir);
  return { qmp: f.qmpSocket, console: f.consoleSocket, pid: f.qemuPid, stderr: f.qemuStderr };
}

/** How QEMU spends host memory on a VM (bench/qemu-footprint.ts measures each choice). */
export interface QemuMemoryOptions {
  /**
   * TCG's translation cache in MiB (null: QEMU's default, a 1 GiB reservation). A boot fills
   * about 46 MiB of it and the pages stay resident; the cap bounds a busy guest's. Below what an
   * idle guest keeps using, every fill flushes the cache and everything hot is translated again:
   * at 16 or 32 MiB a pool VM's hand-out and first exec cost its QEMU 220–250 ms of CPU against
   * 70–90 ms at 64 (`bench/pool.ts` prints it), for about 30 MiB more resident per VM.
   */
  tbSizeMib: number | null;
  /**
   * A virtio balloon with free page reporting: the guest hands back the 2 MiB blocks it has
   * free and QEMU discards them, so the host keeps only what the guest actually holds.
   */
  freePageReporting: boolean;
}

export const QEMU_MEMORY_DEFAULTS: QemuMemoryOptions = { tbSizeMib: 64, freePageReporting: true };

/**
 * The QEMU `microvm` command line as an argv array. The console is a socket chardev whose
 * logfile QEMU appends itself, so output is captured even while no agent is attached.
 */
export function buildQemuArgs(
  spec: VmmLaunchSpec,
  accel: 'kvm' | 'tcg',
  mem: QemuMemoryOptions = QEMU_MEMORY_DEFAULTS,
): string[] {
  const f = runFiles(spec.runDir);
  const args = [
    '-name',
    `hearth-${spec.vmId}`,
    '-machine',
    'microvm,acpi=on,rtc=on,x-option-roms=off',
    '-accel',
    accel === 'tcg' && mem.tbSizeMib ? `tcg,tb-size=${mem.tbSizeMib}` : accel,
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
    ...(spec.volumes ?? []).flatMap((v, i) => [
      '-drive',
      `id=vol${i},file=${v.path},format=raw,if=none,cache=writeback,discard=unmap${v.readOnly ? ',readonly=on' : ''}`,
      '-device',
      // The serial lets the guest find the disk by volume id (/sys/block/vdX/serial).
      `virtio-blk-device,drive=vol${i},serial=${v.id.slice(-20)}`,
    ]),
    ...(spec.configDiskPath
      ? [
          '-drive',
          `id=config,file=${spec.configDiskPath},format=raw,if=none,readonly=on`,
          '-device',
          `virtio-blk-device,drive=config,serial=${CONFIG_DISK_SERIAL}`,
        ]
      : []),
    '-device',
    'virtio-rng-device',
    ...(mem.freePageReporting
      ? ['-device', 'virtio-balloon-device,free-page-reporting=on,deflate-on-oom=on']
      : []),
    '-chardev',
    `socket,id=con0,path=${f.console},server=on,wait=off,logfile=${spec.consoleLogPath},logappend=on`,
    '-serial',
    'chardev:con0',
    // The guest agent's channel: a named virtio-serial port behind a Unix socket (no vhost-vsock here).
    '-device',
    'virtio-serial-device,max_ports=2',
    '-chardev',
    `socket,id=${GUEST_CHARDEV_ID},path=${spec.guestSocketPath},server=on,wait=off`,
    '-device',
    `virtserialport,chardev=${GUEST_CHARDEV_ID},name=${GUEST_AGENT_PORT_NAME}`,
    '-qmp',
    `unix:${f.qmp},server=on,wait=off`,
    '-pidfile',
    f.pid,
    // Confined: seccomp on (the process already runs as the VM's own uid, see confine.ts).
    ...(spec.confine ? ['-sandbox', QEMU_SANDBOX] : []),
  ];
  if (spec.tap) {
    args.push(
      '-netdev',
      `tap,id=net0,ifname=${spec.tap.name},script=no,downscript=no`,
      '-device',
      `virtio-net-device,netdev=net0,mac=${spec.tap.mac}`,
    );
    (spec.moreTaps ?? []).forEach((t, i) => {
      args.push(
        '-netdev',
        `tap,id=net${i + 1},ifname=${t.name},script=no,downscript=no`,
        '-device',
        `virtio-net-device,netdev=net${i + 1},mac=${t.mac}`,
      );
    });
  }
  return args;
}
