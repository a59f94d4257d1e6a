import { join } from 'node:path';

/**
 * The files in one VM's run directory (`<data>/vms/<id>/`), named once for the agent, both VMM
 * drivers and the tests that look inside. A restarted agent finds its VMs by these names, so a
 * rename strands every VM that runs during an upgrade.
 */
export const RUN_DIR_FILES = {
  /** The agent's copy of the VM spec; holds the guest secret, so root only. */
  spec: 'spec.json',
  /** The agent's intent (running, stopped, failed) and last reason, read back after a restart. */
  state: 'state.json',
  /** The VM's root disk. */
  disk: 'disk.raw',
  /** The per-boot configuration disk the agent writes from scratch (length-prefixed JSON, read-only to the guest). */
  configDisk: 'config.raw',
  /** What the agent learnt about the root disk when it made it (whether it carries a guest agent). */
  diskInfo: 'disk.json',
  /** Serial console output, appended by the VMM itself. */
  consoleLog: 'console.log',
  /** Host end of the channel to the guest agent. */
  guestSocket: 'guest.sock',
  /** QEMU: the QMP control socket. */
  qmpSocket: 'qmp.sock',
  /** QEMU: the serial console socket (input and live output). */
  consoleSocket: 'console.sock',
  qemuPid: 'qemu.pid',
  qemuStderr: 'qemu.stderr',
  /** QEMU: where a restore streams the saved state in (removed once loaded). */
  qemuIncoming: 'incoming.sock',
  /** Firecracker: the API socket (inside the jail's root when jailed). */
  apiSocket: 'api.sock',
  firecrackerLog: 'firecracker.log',
  metricsFifo: 'metrics.fifo',
  /** Firecracker: the FIFO it holds as stdin, the serial console's input. */
  consoleIn: 'console.in',
  firecrackerPid: 'firecracker.pid',
  firecrackerStderr: 'firecracker.stderr',
  /** Firecracker: the launch record a restarted agent adopts the process from. */
  firecrackerState: 'firecracker.json',
} as const;

export type RunDirPaths = { readonly [K in keyof typeof RUN_DIR_FILES]: string };

/** Every run-directory file of `runDir` as an absolute path. */
export function runDirPaths(runDir: string): RunDirPaths {
  return Object.fromEntries(
    Object.entries(RUN_DIR_FILES).map(([k, name]) => [k, join(runDir, name)]),
  ) as unknown as RunDirPaths;
}

/** The pid files a VMM of either kind leaves in a run directory (for clean-up of leftovers). */
export const VMM_PID_FILES = [RUN_DIR_FILES.qemuPid, RUN_DIR_FILES.firecrackerPid] as const;

/** Written by each driver into a snapshot directory: the `VmmSnapshotInfo` restore checks. */
export const SNAPSHOT_INFO_FILE = 'snapshot.json';
