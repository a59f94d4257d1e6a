import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import type { AgentVmPhase, AgentVmSpec, AgentVmStatus, BootStepTiming } from '@hearth/contract';
import { runDirPaths, type RunDirPaths, type VmmInstance } from '@hearth/vmm';
import type { GuestConnection } from '../guest/connection.ts';

/** What the agent knows about one VM on this host, running or not. */
export interface VmRecord {
  spec: AgentVmSpec;
  dir: string;
  instance: VmmInstance | null;
  /** The session with the guest agent, while the VMM runs and the image has an agent. */
  guest: GuestConnection | null;
  /** The disk carries a guest agent (baked in or injected), so readiness waits for it. */
  hasAgent: boolean;
  phase: AgentVmPhase;
  reason: string | null;
  startedAt: string | null;
  bootMs: number | null;
  /** The host's steps of the last successful boot or restore. */
  bootSteps: BootStepTiming[] | null;
  /** Exits we caused (stop, delete, failed boot) are not reported as surprises. */
  expectingExit: boolean;
  /** When the guest last rebooted itself, for the reboot-loop guard. */
  reboots: number[];
  queue: Promise<unknown>;
}

/** The intent written to state.json: what a restarted agent should find the VM doing. */
export type VmIntent = 'running' | 'stopped' | 'failed';

export interface PersistedState {
  intent: string;
  startedAt?: string;
  reason?: string;
  hasAgent?: boolean;
}

export function newRecord(spec: AgentVmSpec, dir: string): VmRecord {
  return {
    spec,
    dir,
    instance: null,
    guest: null,
    hasAgent: false,
    phase: 'stopped',
    reason: null,
    startedAt: null,
    bootMs: null,
    bootSteps: null,
    expectingExit: false,
    reboots: [],
    queue: Promise.resolve(),
  };
}

/** The run-directory files of this VM (names from the one table in @hearth/vmm). */
export function filesOf(rec: Pick<VmRecord, 'dir'>): RunDirPaths {
  return runDirPaths(rec.dir);
}

export function statusOf(id: string, rec: VmRecord | undefined): AgentVmStatus {
  if (!rec)
    return { id, phase: 'absent', reason: null, pid: null, accel: null, startedAt: null, bootMs: null };
  return {
    id,
    phase: rec.phase,
    reason: rec.reason,
    pid: rec.instance?.pid ?? null,
    accel: rec.instance?.accel ?? null,
    startedAt: rec.startedAt,
    bootMs: rec.bootMs,
    bootSteps: rec.bootSteps,
  };
}

export async function persist(rec: VmRecord, intent: VmIntent): Promise<void> {
  await writeFile(
    filesOf(rec).state,
    JSON.stringify({ intent, startedAt: rec.startedAt, reason: rec.reason, hasAgent: rec.hasAgent }) + '\n',
  );
}

/** Writes spec.json: it holds the guest secret and password hashes, so root only whatever the directory's mode. */
export async function writeSpec(rec: VmRecord): Promise<void> {
  const path = filesOf(rec).spec;
  await writeFile(path, JSON.stringify(rec.spec, null, 2) + '\n', { mode: 0o600 });
  await chmod(path, 0o600);
}

export async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

export async function readJson<T>(p: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(p, 'utf8')) as T;
  } catch {
    return null;
  }
}
