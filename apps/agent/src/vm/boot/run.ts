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
  initrdPath: string | null;
  /** Set by 03-network. */
  taps: { name: string; mac: string }[];
  /** Set by 04-launch. */
  instance: VmmInstance | null;
  consoleStart: number;
  launchedAt: number;
  /** The host's measured steps of this boot (a restore: `network`, `load`, `resume`, `identity`). */
  steps: BootStepTiming[];
}

/** Runs `fn` as the step `name` of this boot, adding its duration to the step's record. */
export async function timed<T>(b: BootRun, name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    const ms = Math.round((performance.now() - t0) * 10) / 10;
    const had = b.steps.find((s) => s.name === name);
    if (had) had.ms = Math.round((had.ms + ms) * 10) / 10;
    else b.steps.push({ name, ms });
  }
}

export type BootStep = (b: BootRun) => Promise<void>;
