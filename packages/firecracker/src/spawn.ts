import { open, stat } from 'node:fs/promises';
import { spawnDetached as spawnVmm, type Spawned } from '@hearth/vmm';
import { mkfifo } from './exec.ts';

export type { Spawned };

export interface SpawnIo {
  cwd: string;
  /** FIFO for the serial console's input; created when missing. */
  consoleIn: string;
  /** Serial console output, appended. */
  consoleLog: string;
  stderrFile: string;
}

/**
 * Spawns Firecracker detached. The serial console is the process's stdin/stdout, so both go to
 * files the process holds itself: stdout is the console log opened O_APPEND (output is kept while
 * no agent runs, and the agent's size cap can truncate it safely), stdin is a FIFO opened
 * read-write (Firecracker never sees end-of-file, and anyone can later open it to type into the
 * console).
 */
export async function spawnDetached(cmd: string, args: string[], io: SpawnIo): Promise<Spawned> {
  const fifo = await stat(io.consoleIn).catch(() => null);
  if (!fifo?.isFIFO()) await mkfifo(io.consoleIn);
  const stdin = await open(io.consoleIn, 'r+');
  const stdout = await open(io.consoleLog, 'a');
  const stderr = await open(io.stderrFile, 'w');
  try {
    return spawnVmm(cmd, args, { cwd: io.cwd, stdio: [stdin.fd, stdout.fd, stderr.fd] });
  } finally {
    await Promise.all([stdin.close(), stdout.close(), stderr.close()]);
  }
}
