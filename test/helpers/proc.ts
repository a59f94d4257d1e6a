import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { currentBundle } from '@hearth/cli/bundle';

export const HEARTH_BIN = fileURLToPath(new URL('../../apps/cli/bin/hearth.mjs', import.meta.url));

/**
 * Environment for a CLI run whose stderr a test reads: the built bundle when it matches the
 * sources (setup.sh builds it; a run starts in a third of the CPU time tsx needs), otherwise the
 * sources without the bin's stale-bundle warning.
 */
export const CLI_ENV: Record<string, string> = (await currentBundle()).entry
  ? {}
  : { HEARTH_FROM_SOURCE: '1' };

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export interface Proc {
  child: ChildProcess;
  output: () => string;
  /** Resolves when `text` appears on stdout/stderr; rejects if the process exits first. */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Runs the `hearth` CLI as its own process (argv array, output kept for assertions and errors). */
export function runHearth(
  args: string[],
  env: Record<string, string> = {},
  opts: { netns?: string; nodeFlags?: readonly string[] } = {},
): Proc {
  // Node.js flags go before the script: some V8 flags are refused in NODE_OPTIONS.
  const node = [process.execPath, ...(opts.nodeFlags ?? []), HEARTH_BIN, ...args];
  // `ip netns exec` execs the command in place, so the child is still the CLI's own process.
  const argv = opts.netns ? ['ip', 'netns', 'exec', opts.netns, ...node] : node;
  const child = spawn(argv[0]!, argv.slice(1), {
    env: { ...process.env, HEARTH_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    output: () => out,
    waitFor(text, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const match = () => (typeof text === 'string' ? out.includes(text) : text.test(out));
        const cleanup = () => {
          listeners.delete(check);
          clearTimeout(timer);
        };
        const check = () => {
          if (match()) {
            cleanup();
            resolve();
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${text}; output:\n${out.slice(-3000)}`));
        }, timeoutMs);
        void exited.then(() => {
          if (!match()) {
            cleanup();
            reject(new Error(`process exited before printing ${text}; output:\n${out.slice(-3000)}`));
          }
        });
        listeners.add(check);
        check();
      });
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one CLI command to completion. */
export function cli(
  args: string[],
  env: Record<string, string>,
  input?: string | Buffer,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HEARTH_BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (input !== undefined) child.stdin!.end(input);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
