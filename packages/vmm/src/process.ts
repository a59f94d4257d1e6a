import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { pidAlive } from './host.ts';

/** Longest Unix socket path Linux accepts (sun_path is 108 bytes including the NUL). */
export const UNIX_PATH_MAX = 107;

/** Why the kernel would truncate this socket path, or null when it fits. */
export function socketPathTooLong(path: string): string | null {
  const n = Buffer.byteLength(path);
  return n > UNIX_PATH_MAX
    ? `socket path ${path} is ${n} bytes, longer than the ${UNIX_PATH_MAX} Linux allows; use a shorter data directory`
    : null;
}

/** SIGKILL, ignoring a process that is already gone. */
export function killQuietly(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

/** The pid in a VMM's pid file, or 0 when there is none. */
export async function readPidFile(path: string): Promise<number> {
  return Number((await readFile(path, 'utf8').catch(() => '')).trim()) || 0;
}

/** SIGKILL, then waits (up to `waitMs`) until the process is gone: for a VMM we cannot manage. */
export async function killAndWait(pid: number, waitMs = 5000): Promise<void> {
  killQuietly(pid);
  const deadline = Date.now() + waitMs;
  while (pidAlive(pid) && Date.now() < deadline) await sleep(25);
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** "signal SIGKILL" or "code 1", for failure messages. */
export function describeExit(e: ProcessExit): string {
  return e.signal ? `signal ${e.signal}` : `code ${e.code}`;
}

/** The last non-empty line of a VMM's stderr: what a failure message quotes. */
export function lastLine(text: string): string {
  return text.split('\n').filter(Boolean).pop() ?? '';
}

/** A spawned VMM, with what the launcher needs to tell "still starting" from "gone". */
export interface Spawned {
  child: ChildProcess;
  exit(): ProcessExit | null;
  error(): Error | null;
}

/**
 * Spawns a VMM detached (its own session), so that the agent's death or Ctrl-C never takes the
 * VM with it. `stdio` are file descriptors the caller opened (and may close once this returns).
 */
export function spawnDetached(
  cmd: string,
  args: string[],
  opts: { cwd?: string; stdio: ['ignore' | number, number, number]; uid?: number; gid?: number },
): Spawned {
  let exited: ProcessExit | null = null;
  let spawnError: Error | null = null;
  const child = spawn(cmd, args, {
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    // Node drops supplementary groups, then sets the gid, then the uid (after the chdir to cwd).
    ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid ?? opts.uid } : {}),
    detached: true,
    stdio: opts.stdio,
  });
  child.on('error', (e) => (spawnError = e));
  child.on('exit', (code, signal) => (exited = { code, signal }));
  child.unref();
  return { child, exit: () => exited, error: () => spawnError };
}
