import type { Logger } from 'pino';
import type { AgentVmSpec, BootStepTiming } from '@hearth/contract';
import type { RunDirPaths, VmmInstance } from '@hearth/vmm';
import type { VmContext } from '../context.ts';
import type { VmRecord } from '../record.ts';

/** A snapshot a boot resumes from instead of booting the disk. */
export interface RestoreSource {
  dir: string;
  /** The snapshotted guest had a connected guest agent. */
  hasAgent: boolean;
  /** The spec of the VM the snapshot was taken of (null: this very VM). */
  source: AgentVmSpec | null;
  /** Not a snapshot: a live migration arriving over the network (vm/migrate.ts). */
  incoming?: IncomingMigration;
}

/** The destination's side of a live migration, driven by vm/migrate.ts. */
export interface IncomingMigration {
  nbdPort: number;
  migratePort: number;
  drives: string[];
  /** Called once QEMU listens (NBD server and migration). */
  listening: () => void;
  /** Resolves when the source finished (the manager says so), rejects when the move is given up. */
  go: Promise<void>;
  /** Set when the guest continued here (epoch ms): the end of the switchover. */
  resumedAt?: number;
}

/** One boot in progress: what the steps share, filled in by them in order. */
export interface BootRun {
  readonly ctx: VmContext;
  readonly rec: VmRecord;
  readonly from: RestoreSource | undefined;
  readonly files: RunDirPaths;
  readonly log: Logger;
  /** Set by 01-disk: the disk was made by this boot (a failed boot removes it). */
  freshDisk: boolean;
  kernelPath: string;
  /** Set by 02-config: the config disk to attach, if any. */
  configDisk: string | null;
  /** Each step's duration, in order, as the steps finish (names in the contract's BootStepTiming). */
  steps: BootStepTiming[];
  initrdPath: string | null;
  /** Set by 03-network. */
  taps: { name: string; mac: string }[];
  /** Set by 03-network: its filters and bridge ports, settling to the error if any (never rejects). */
  wiring: Promise<Error | null>;
  /** Set by 04-launch. */
  instance: VmmInstance | null;
  consoleStart: number;
  launchedAt: number;
}

/** Appends a measured step. */
export function timed(b: BootRun, name: string, since: number, now = performance.now()): number {
  b.steps.push({ name, ms: Math.round(now - since) });
  return now;
}
