import type { VmmAvailability } from '@hearth/contract';
import type { HostCheck } from './host.ts';

/** Everything a driver needs to launch one VM. Paths are absolute and on this host. */
export interface VmmLaunchSpec {
  vmId: string;
  runDir: string;
  vcpus: number;
  memoryMib: number;
  kernelPath: string;
  initrdPath: string | null;
  diskPath: string;
  cmdline: string;
  /** Serial console output is appended here by the VMM itself, so nothing is lost while the agent is down. */
  consoleLogPath: string;
  tap: { name: string; mac: string } | null;
  /** Further NICs, in order, after `tap`. */
  moreTaps?: { name: string; mac: string }[];
  /**
   * Host end of the channel to the guest agent, a Unix socket path. QEMU: the server socket of a
   * virtio-serial port named `org.hearth.agent`. Firecracker: the hybrid-vsock `uds_path`.
   */
  guestSocketPath: string;
  /** Extra data disks, in order (the guest sees /dev/vdb, /dev/vdc, …; `id` is the virtio serial). */
  volumes?: { id: string; path: string; readOnly: boolean }[];
  /**
   * The per-boot configuration disk (raw, no filesystem), attached read-only after every other
   * disk so volume device names do not move. QEMU gives it the virtio serial `hearth-config`.
   */
  configDiskPath?: string | null;
  /** Data the guest may read at boot (Firecracker: the MMDS store, under `hearth`). Optional. */
  metadata?: Record<string, unknown>;
  /** Run the VMM confined (QEMU): as this VM's own uid and gid, and moved into these cgroups. */
  confine?: VmmConfinement | null;
}

/** How one VM's VMM is confined: its own unprivileged ids, and the cgroup.procs files to join. */
export interface VmmConfinement {
  uid: number;
  gid: number;
  cgroupProcs: string[];
}

/** The vsock port the guest agent listens on (Firecracker); QEMU uses a named virtio-serial port. */
export const GUEST_AGENT_VSOCK_PORT = 1024;
export const GUEST_AGENT_PORT_NAME = 'org.hearth.agent';
/** The virtio-blk serial of the configuration disk (QEMU); the guest agent looks for it. */
export const CONFIG_DISK_SERIAL = 'hearth-config';

export type VmmRunState = 'running' | 'paused' | 'shutdown' | 'unknown';

export interface VmmExit {
  /** guest-shutdown, guest-reset, guest-panic, host-signal, killed, vanished, vmm-error, vmm-hung */
  cause: string;
  code: number | null;
}

/** One running VMM process, whether launched by us or adopted after an agent restart. */
export interface VmmInstance {
  readonly pid: number;
  readonly accel: 'kvm' | 'tcg';
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Asks the guest to shut down (ACPI power button / Ctrl-Alt-Del). */
  requestShutdown(): Promise<void>;
  kill(): Promise<void>;
  status(): Promise<VmmRunState>;
  /**
   * Opens a fresh byte stream to the guest agent (QEMU: connect to the virtio-serial socket;
   * Firecracker: connect to the vsock socket and complete the `CONNECT <port>` handshake).
   * Only one stream is open at a time; the caller multiplexes over it.
   */
  connectGuest(): Promise<import('node:net').Socket>;
  /** Resolves once the process is gone. */
  readonly exited: Promise<VmmExit>;
  /** Drops our connections; the VMM keeps running. Idempotent. */
  dispose(): void;
  /**
   * Saves memory, device state and disk into `dir` (created; must not hold a snapshot yet). The
   * VM is paused meanwhile and left in the state it had. Optional: not every VMM has it yet.
   */
  snapshot?(dir: string, opts?: VmmSnapshotOptions): Promise<VmmSnapshotInfo>;
  /** The VMM's own counters, freshly flushed; null when it keeps none. Optional. */
  metrics?(): Promise<Record<string, unknown> | null>;
}

export interface VmmSnapshotOptions {
  /** Diff: only the memory dirtied since the last snapshot (needs dirty-page tracking). */
  type?: 'full' | 'diff';
}

/** Written as `SNAPSHOT_INFO_FILE` in the snapshot directory; restore refuses what it cannot load. */
export interface VmmSnapshotInfo {
  vmm: 'firecracker' | 'qemu';
  /** The VMM version that wrote it: snapshot formats are tied to it. */
  vmmVersion: string;
  type: 'full' | 'diff';
  vmId: string;
  createdAt: string;
  /** File names inside the snapshot directory. */
  files: { state: string; memory: string; disk: string };
}

export interface VmmDriver {
  readonly kind: 'firecracker' | 'qemu';
  probe(): Promise<VmmAvailability>;
  launch(spec: VmmLaunchSpec): Promise<VmmInstance>;
  /** Reconnects to a VMM found in runDir after an agent restart; null when none is alive. */
  adopt(runDir: string): Promise<VmmInstance | null>;
  /**
   * Starts a fresh VMM from a snapshot directory written by `VmmInstance.snapshot`: the disk is
   * copied to `spec.diskPath`, the NIC is re-pointed at `spec.tap`. Optional.
   */
  restore?(spec: VmmLaunchSpec, snapshotDir: string): Promise<VmmInstance>;
  /** Every host check behind `probe()`, each with its reason (`hearth doctor`). Optional. */
  checks?(): Promise<HostCheck[]>;
}

export {
  createVmCgroup,
  describeCgroups,
  detectCgroups,
  joinCgroup,
  removeVmCgroup,
  setVmCpuWeight,
  sweepEmptyVmCgroups,
  vmCgroupLeaf,
  vmCgroupLimits,
  BACKGROUND_CPU_WEIGHT,
  NORMAL_CPU_WEIGHT,
  type CgroupHost,
} from './cgroup.ts';
export { detectAccel, kvmChecks, pidAlive, processArgv, type AccelCheck, type HostCheck } from './host.ts';
export {
  RUN_DIR_FILES,
  runDirPaths,
  SNAPSHOT_INFO_FILE,
  VMM_PID_FILES,
  type RunDirPaths,
} from './run-dir.ts';
export {
  describeExit,
  killAndWait,
  killQuietly,
  lastLine,
  readPidFile,
  socketPathTooLong,
  spawnDetached,
  UNIX_PATH_MAX,
  type ProcessExit,
  type Spawned,
} from './process.ts';
export { jsonLines } from './json-lines.ts';
