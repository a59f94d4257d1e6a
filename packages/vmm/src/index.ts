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
}

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
