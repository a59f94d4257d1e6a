import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { GuestProcess, Vm } from '@hearth/contract';
import type { AgentClient, AgentTarget } from '../../services/agent-client.ts';
import { EnvdError, type ResolveSandbox } from './context.ts';
import { serverStreaming, unary, type ServerStream } from './connect.ts';
import { ProcessRun, ProcessRuns, readExec, type ProcessEvent } from './process-runs.ts';
import { startPty } from './pty.ts';

export interface ProcessDeps {
  resolve: ResolveSandbox;
  agents: AgentClient;
  /** The agent of the host the VM runs on. */
  hostOf: (vm: Vm) => Promise<AgentTarget>;
  /** Whether the guest has this file (a real /bin/bash). */
  hasFile: (vm: Vm, path: string) => Promise<boolean>;
}

const SERVICE = '/process.Process';
const SIGNALS: Record<string, 'KILL' | 'TERM'> = {
  SIGNAL_SIGKILL: 'KILL',
  SIGNAL_SIGTERM: 'TERM',
  '9': 'KILL',
  '15': 'TERM',
};

type Selector = { pid?: number; tag?: string };

function selectorOf(msg: Record<string, unknown>): Selector {
  const p = (msg.process ?? {}) as Selector;
  if (p.pid === undefined && p.tag === undefined) {
    throw new EnvdError('invalid_argument', 'the request names no process (pid or tag)');
  }
  return p;
}

/** The username of envd's Basic authorization ("user:"), when the SDK sent one. */
export function envdUser(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (!h?.startsWith('Basic ')) return undefined;
  const user = Buffer.from(h.slice(6), 'base64').toString('utf8').split(':')[0];
  return user || undefined;
}

/**
 * envd's `process.Process` service on the guest agent's exec and process operations. E2B pids
 * are the guest's pids; the guest's process ids are found from them (runs started here, or the
 * guest's process list).
 */
export function registerEnvdProcess(app: FastifyInstance, deps: ProcessDeps): ProcessRuns {
  const runs = new ProcessRuns();
  const bash = new Map<string, boolean>();

  /** argv as the guest can run it: `/bin/bash` is busybox sh where the image has no bash. */
  async function guestArgv(vm: Vm, cmd: string, args: string[]): Promise<string[]> {
    if (cmd === '/bin/bash' || cmd === 'bash') {
      let has = bash.get(vm.id);
      if (has === undefined) bash.set(vm.id, (has = await deps.hasFile(vm, '/bin/bash')));
      if (!has) return ['/bin/sh', ...args];
    }
    return [cmd, ...args];
  }

  /** The guest's process id of a pid or tag, for the process routes. */
  async function processIdOf(vm: Vm, sel: Selector): Promise<string> {
    const run = sel.pid !== undefined ? runs.get(vm.id, sel.pid) : runs.byTag(vm.id, sel.tag!);
    if (run?.processId) return run.processId;
    const host = await deps.hostOf(vm);
    const list = (await deps.agents.call(host, 'listProcesses', { params: { id: vm.id } })) as {
      items: GuestProcess[];
    };
    const found = list.items.find(
      (p) => p.running && (sel.pid !== undefined ? p.pid === sel.pid : p.tag === sel.tag),
    );
    if (!found) {
      throw new EnvdError(
        'not_found',
        `process with ${sel.pid !== undefined ? `pid ${sel.pid}` : `tag ${sel.tag}`} not found`,
      );
    }
    return found.processId;
  }

  /**
   * Relays a run's events to a stream until it ends or the client goes, with a keepalive event
   * every `Keepalive-Ping-Interval` seconds (the SDK gives up on a stream idle for too long).
   */
  function follow(run: ProcessRun, stream: ServerStream, withStart: boolean, req: FastifyRequest): void {
    if (withStart) stream.send({ event: { start: { pid: run.pid } } });
    const every = Number(req.headers['keepalive-ping-interval']);
    if (Number.isFinite(every) && every > 0) {
      const ping = setInterval(() => stream.send({ event: { keepalive: {} } }), every * 1000);
      void stream.closed.then(() => clearInterval(ping));
    }
    if (run.ended) {
      stream.send({ event: run.ended });
      stream.end();
      return;
    }
    const stop = run.listen((ev: ProcessEvent) => {
      if ('start' in ev) return;
      stream.send({ event: ev });
      if ('end' in ev) {
        stop();
        stream.end();
      }
    });
    void stream.closed.then(stop);
  }

  serverStreaming(app, `${SERVICE}/Start`, async (msg, req, stream) => {
    const vm = await deps.resolve(req);
    const p = (msg.process ?? {}) as {
      cmd?: string;
      args?: string[];
      envs?: Record<string, string>;
      cwd?: string;
    };
    if (!p.cmd) throw new EnvdError('invalid_argument', 'process.cmd is required');
    const argv = await guestArgv(vm, p.cmd, p.args ?? []);
    const user = envdUser(req);
    const tag = typeof msg.tag === 'string' ? msg.tag : null;
    const config = { cmd: p.cmd, args: p.args ?? [], envs: p.envs ?? {}, ...(p.cwd ? { cwd: p.cwd } : {}) };
    const run = new ProcessRun(vm.id, config, tag, (r) => runs.remove(r));
    const host = await deps.hostOf(vm);
    const size = (msg.pty as { size?: { cols?: number; rows?: number } } | undefined)?.size;
    if (msg.pty) {
      await startPty(run, {
        agents: deps.agents,
        host,
        vmId: vm.id,
        argv,
        envs: p.envs ?? {},
        ...(p.cwd ? { cwd: p.cwd } : {}),
        ...(user && user !== 'root' ? { user } : {}),
        cols: size?.cols || 80,
        rows: size?.rows || 24,
      });
    } else {
      // envd's default (stdin absent) is an open stdin; the SDK sends false unless asked.
      const stdin = msg.stdin !== false;
      const res = await deps.agents.raw(
        host,
        'exec',
        { params: { id: vm.id } },
        {
          body: JSON.stringify({
            command: argv,
            ...(p.envs && Object.keys(p.envs).length ? { env: p.envs } : {}),
            ...(p.cwd ? { cwd: p.cwd } : {}),
            ...(user && user !== 'root' ? { user } : {}),
            ...(stdin ? { stdin: '', keepStdinOpen: true } : {}),
            ...(tag ? { tag } : {}),
            stream: true,
          }),
          headers: { 'content-type': 'application/json' },
          stream: true,
        },
      );
      readExec(run, res);
    }
    await run.whenStarted();
    if (run.pid) runs.add(run);
    follow(run, stream, run.pid !== 0, req);
  });

  serverStreaming(app, `${SERVICE}/Connect`, async (msg, req, stream) => {
    const vm = await deps.resolve(req);
    const sel = selectorOf(msg);
    const run = sel.pid !== undefined ? runs.get(vm.id, sel.pid) : runs.byTag(vm.id, sel.tag!);
    if (!run) {
      await processIdOf(vm, sel);
      // A process this manager did not start (or started before it restarted): no live relay.
      throw new EnvdError('failed_precondition', 'the process was not started through this server');
    }
    follow(run, stream, true, req);
  });

  unary(app, `${SERVICE}/List`, async (_msg, req) => {
    const vm = await deps.resolve(req);
    const host = await deps.hostOf(vm);
    const list = (await deps.agents.call(host, 'listProcesses', { params: { id: vm.id } })) as {
      items: GuestProcess[];
    };
    const processes = list.items
      .filter((p) => p.running)
      .map((p) => {
        const run = runs.get(vm.id, p.pid);
        const config = run?.config ?? { cmd: p.argv[0] ?? '', args: p.argv.slice(1), envs: {} };
        return { config, pid: p.pid, ...(p.tag ? { tag: p.tag } : {}) };
      });
    return { processes };
  });

  unary(app, `${SERVICE}/SendInput`, async (msg, req) => {
    const vm = await deps.resolve(req);
    const sel = selectorOf(msg);
    const input = (msg.input ?? {}) as { stdin?: string; pty?: string };
    const run = sel.pid !== undefined ? runs.get(vm.id, sel.pid) : runs.byTag(vm.id, sel.tag!);
    if (run?.terminal) {
      run.terminal.input(Buffer.from(input.pty ?? input.stdin ?? '', 'base64'));
      return {};
    }
    const processId = await processIdOf(vm, sel);
    await deps.agents.call(await deps.hostOf(vm), 'processStdin', {
      params: { id: vm.id, processId },
      body: { data: input.stdin ?? input.pty ?? '', encoding: 'base64', close: false },
    });
    return {};
  });

  unary(app, `${SERVICE}/CloseStdin`, async (msg, req) => {
    const vm = await deps.resolve(req);
    const processId = await processIdOf(vm, selectorOf(msg));
    await deps.agents.call(await deps.hostOf(vm), 'processStdin', {
      params: { id: vm.id, processId },
      body: { data: '', encoding: 'utf8', close: true },
    });
    return {};
  });

  unary(app, `${SERVICE}/SendSignal`, async (msg, req) => {
    const vm = await deps.resolve(req);
    const signal = SIGNALS[String(msg.signal)];
    if (!signal) throw new EnvdError('invalid_argument', `unsupported signal ${String(msg.signal)}`);
    const processId = await processIdOf(vm, selectorOf(msg));
    await deps.agents.call(await deps.hostOf(vm), 'signalProcess', {
      params: { id: vm.id, processId },
      body: { signal },
    });
    return {};
  });

  unary(app, `${SERVICE}/Update`, async (msg, req) => {
    const vm = await deps.resolve(req);
    const sel = selectorOf(msg);
    const run = sel.pid !== undefined ? runs.get(vm.id, sel.pid) : runs.byTag(vm.id, sel.tag!);
    if (!run) await processIdOf(vm, sel);
    const size = (msg.pty as { size?: { cols?: number; rows?: number } } | undefined)?.size;
    if (!size) return {};
    if (!run?.terminal)
      throw new EnvdError('invalid_argument', 'the process has no PTY (or was not started here)');
    if (!size.cols || !size.rows) throw new EnvdError('invalid_argument', 'pty.size needs cols and rows');
    run.terminal.resize(size.cols, size.rows);
    return {};
  });

  return runs;
}
