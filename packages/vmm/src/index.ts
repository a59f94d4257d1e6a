import type { VmmAvailability } from '@hearth/contract';

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
  /**
   * Host end of the channel to the guest agent, a Unix socket path. QEMU: the server socket of a
   * virtio-serial port named `org.hearth.agent`. Firecracker: the hybrid-vsock `uds_path`.
   */
  guestSocketPath: string;
}

/** The vsock port the guest agent listens on (Firecracker); QEMU uses a named virtio-serial port. */
export const GUEST_AGENT_VSOCK_PORT = 1024;
export const GUEST_AGENT_PORT_NAME = 'org.hearth.agent';

export type VmmRunState = 'running' | 'paused' | 'shutdown' | 'unknown';

export interface VmmExit {
  /** guest-shutdown, guest-reset, guest-panic, host-signal, killed, vanished */
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
}

export interface VmmDriver {
  readonly kind: 'firecracker' | 'qemu';
  probe(): Promise<VmmAvailability>;
  launch(spec: VmmLaunchSpec): Promise<VmmInstance>;
  /** Reconnects to a VMM found in runDir after an agent restart; null when none is alive. */
  adopt(runDir: string): Promise<VmmInstance | null>;
}
