import { spawn, type ChildProcess } from 'node:child_process';
import { open, stat } from 'node:fs/promises';
import { mkfifo } from './exec.ts';

export interface Spawned {
  child: ChildProcess;
  exit(): { code: number | null; signal: NodeJS.Signals | null } | null;
  error(): Error | null;
}

export interface SpawnIo {
  cwd: string;
  /** FIFO for the serial console's input; created when missing. */
  consoleIn: string;
  /** Serial console output, appended. */
  consoleLog: string;
  stderrFile: string;
}

/**
 * Spawns the VMM detached (own session: the agent's death or Ctrl-C never takes the VM along).
 * The serial console is the process's stdin/stdout, so both go to files the process holds
 * itself: stdout is the console log opened O_APPEND (output is kept while no agent runs, and
 * the agent's size cap can truncate it safely), stdin is a FIFO opened read-write (Firecracker
 * never sees end-of-file, and anyone can later open it to type into the console).
 */
export async function spawnDetached(cmd: string, args: string[], io: SpawnIo): Promise<Spawned> {
  const fifo = await stat(io.consoleIn).catch(() => null);
  if (!fifo?.isFIFO()) await mkfifo(io.consoleIn);
  const stdin = await open(io.consoleIn, 'r+');
  const stdout = await open(io.consoleLog, 'a');
  const stderr = await open(io.stderrFile, 'w');
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  let spawnError: Error | null = null;
  try {
    const child = spawn(cmd, args, { cwd: io.cwd, detached: true, stdio: [stdin.fd, stdout.fd, stderr.fd] });
    child.on('error', (e) => (spawnError = e));
    child.on('exit', (code, signal) => (exited = { code, signal }));
    child.unref();
    return { child, exit: () => exited, error: () => spawnError };
  } finally {
    await Promise.all([stdin.close(), stdout.close(), stderr.close()]);
  }
}
