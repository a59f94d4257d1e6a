import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs argv[0] with the rest as arguments (never a shell); errors carry its stderr. */
export async function runArgv(argv: string[], timeoutMs = 10_000): Promise<string> {
  const [cmd, ...args] = argv;
  try {
    const { stdout } = await run(cmd!, args, { timeout: timeoutMs });
    return stdout;
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`${argv.join(' ')} failed: ${(err.stderr ?? '').trim() || err.message}`);
  }
}

/** A FIFO at `path` (mkfifo has no Node API). */
export function mkfifo(path: string): Promise<string> {
  return runArgv(['mkfifo', '-m', '0600', path]);
}
