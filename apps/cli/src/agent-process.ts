import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';

/** What the agent child tells `hearth up` over its IPC channel. */
export interface AgentMessage {
  type: 'registered';
  hostId: string;
  url: string;
}

export interface AgentProcess {
  /** Resolves when the first agent registered; rejects if it exited before (its log says why). */
  registered: Promise<AgentMessage>;
  /** SIGTERM (it lets requests in flight finish), SIGKILL after `graceMs`. Idempotent. */
  dispose(graceMs?: number): Promise<void>;
}

/**
 * Runs the local agent as a child process and restarts it when it exits (with backoff), so a fault
 * in it never takes the API down; its VMMs are detached and survive. The child has its own process
 * group (Ctrl-C reaches `hearth up` only, which stops it after the manager drained), and an IPC
 * channel: when `hearth up` dies, even by SIGKILL, the channel closes and the agent exits.
 */
export function superviseAgent(o: {
  argv: string[];
  env: NodeJS.ProcessEnv;
  log: Logger;
  onUp(m: AgentMessage): void;
  onDown(why: string): void;
}): AgentProcess {
  let child: ChildProcess | null = null;
  let stopping = false;
  let everUp = false;
  let failures = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let resolveFirst!: (m: AgentMessage) => void;
  let rejectFirst!: (e: Error) => void;
  const registered = new Promise<AgentMessage>((resolve, reject) => {
    resolveFirst = resolve;
    rejectFirst = reject;
  });
  registered.catch(() => undefined);

  const start = () => {
    const startedAt = Date.now();
    const c = spawn(o.argv[0]!, o.argv.slice(1), {
      env: o.env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      detached: true,
    });
    child = c;
    o.log.info({ pid: c.pid }, 'local agent process started');
    c.on('message', (m: AgentMessage) => {
      if (m?.type !== 'registered') return;
      everUp = true;
      o.onUp(m);
      resolveFirst(m);
    });
    c.on('error', (e) => o.log.error({ err: e.message }, 'the local agent process failed'));
    c.once('exit', (code, signal) => {
      if (child === c) child = null;
      if (stopping) return;
      const why = signal ? `killed by ${signal}` : `exit code ${code}`;
      if (!everUp) {
        rejectFirst(new Error(`The local agent exited before it registered (${why}); its log is above.`));
        return;
      }
      o.onDown(why);
      // A child that ran for a while starts the backoff afresh.
      if (Date.now() - startedAt > 60_000) failures = 0;
      const delay = Math.min(30_000, 250 * 2 ** failures++);
      o.log.warn({ pid: c.pid, why, restartInMs: delay }, 'the local agent exited; restarting it');
      restartTimer = setTimeout(start, delay);
    });
  };
  start();

  let disposing: Promise<void> | null = null;
  return {
    registered,
    dispose(graceMs = 35_000) {
      disposing ??= (async () => {
        stopping = true;
        clearTimeout(restartTimer);
        const c = child;
        if (!c || c.exitCode !== null || c.signalCode !== null) return;
        const exited = new Promise<void>((r) => c.once('exit', () => r()));
        c.kill('SIGTERM');
        const kill = setTimeout(() => c.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(kill);
      })();
      return disposing;
    },
  };
}
