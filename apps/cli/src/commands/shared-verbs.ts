import type { Command } from 'commander';
import { HearthError, parseDuration, type Container } from '@hearth/contract';
import type { HearthClient } from '@hearth/sdk';
import { UsageError } from '../usage-error.ts';
import { containerDetails } from '../container-text.ts';
import { printJson, reportError } from '../output.ts';
import { collect } from '../run-body.ts';
import { execStream, readStdin } from './access.ts';
import { findContainer, waitContainer } from './container-api.ts';
import { printLogs } from './container-logs.ts';
import { runTerminal, shellTarget } from './terminal.ts';
import { act, vmConsoleLog, vmInspect, vmLifecycle, vmRemove, vmStop } from './vm.ts';

/**
 * The verbs VMs and containers share (`start`, `stop`, `restart`, `pause`, `unpause`, `rm`,
 * `inspect`, `logs`, `exec`): each name is looked up as a container first, as a VM otherwise,
 * so `hearth stop web` works the Docker way for a container and as before for a VM. The flags
 * are the union of both (Docker's spellings for containers).
 */

/** Runs `each` for every target; a failure is reported and the others still run (as Docker does). */
function forEach<O>(
  program: Command,
  each: (c: HearthClient, json: boolean, target: string, ct: Container | null, o: O) => Promise<void>,
  after?: (json: boolean) => void,
) {
  return act(program, async (c, json, targets: string[], o: O) => {
    let failed = false;
    for (const t of targets) {
      try {
        await each(c, json, t, await findContainer(c, t), o);
      } catch (e) {
        if (targets.length === 1) throw e;
        failed = true;
        reportError(e, json);
      }
    }
    after?.(json);
    if (failed) process.exitCode = 1;
  });
}

const done = (json: boolean, ct: Container, ref: string) => (json ? printJson(ct) : console.log(ref));

function seconds(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 3600)
    throw new UsageError(`${flag} ${v} must be whole seconds from 0 to 3600.`);
  return n;
}

function lifecycleVerbs(program: Command): void {
  const simple = [
    ['start', 'startContainer', 'running', 'Start containers or VMs (stopped, created, failed)'],
    ['pause', 'pauseContainer', null, 'Pause (freeze) running containers or VMs'],
    ['unpause', 'resumeContainer', null, 'Unpause paused containers or VMs'],
    ['resume', 'resumeContainer', null, 'Resume paused VMs or containers (as unpause)'],
  ] as const;
  for (const [verb, route, until, desc] of simple) {
    program
      .command(`${verb} <target...>`)
      .description(desc)
      .option('--no-wait', 'return at once')
      .action(
        forEach(program, async (c, json, t, ct, o: { wait: boolean }) => {
          if (!ct) return vmLifecycle(c, json, verb === 'unpause' ? 'resume' : verb, t, o.wait);
          let now = await c.call(route, { params: { id: ct.id } });
          if (until && o.wait) now = await waitContainer(c, ct.id, until, 900);
          done(json, now, t);
        }),
      );
  }

  const stopLike = [
    [
      'stop',
      'exited',
      'Stop containers (stop signal, then SIGKILL after the grace time) or VMs (guest shutdown)',
    ],
    ['restart', 'running', 'Restart containers (the app; the VM keeps running) or VMs'],
  ] as const;
  for (const [verb, until, desc] of stopLike) {
    const cmd = program
      .command(`${verb} <target...>`)
      .description(desc)
      .option(
        '-t, --time <seconds>',
        'containers: seconds to wait before killing (default: its stop timeout)',
      )
      .option('--no-wait', 'return at once');
    if (verb === 'stop') {
      cmd
        .option(
          '-s, --signal <signal>',
          "containers: the signal to send (default: the container's stop signal)",
        )
        .option('--force', 'VMs: kill the VMM at once')
        .option('--timeout <seconds>', 'VMs: grace period (default 30)', (v) => Number(v));
    }
    type StopOptions = { time?: string; signal?: string; force?: boolean; timeout?: number; wait: boolean };
    cmd.action(
      forEach(program, async (c, json, t, ct, o: StopOptions) => {
        const time = seconds(o.time, '-t');
        if (!ct) {
          if (verb === 'restart') return vmLifecycle(c, json, 'restart', t, o.wait);
          return vmStop(c, json, t, { force: o.force, timeout: o.timeout ?? time, wait: o.wait });
        }
        const body = {
          ...(time !== undefined ? { timeoutSeconds: time } : {}),
          ...(o.signal ? { signal: o.signal } : {}),
        };
        let now = await c.call(verb === 'stop' ? 'stopContainer' : 'restartContainer', {
          params: { id: ct.id },
          // The route table's verb() helper drops the body's type (contract): the body is checked by the server.
          body: body as never,
        });
        if (o.wait) now = await waitContainer(c, ct.id, until, (time ?? ct.stopGraceSeconds) + 900);
        done(json, now, t);
      }),
    );
  }

  program
    .command('remove <target...>')
    .alias('rm')
    .description('Remove containers (refused while running unless -f) or delete VMs')
    .option('-f, --force', 'containers: remove a running container (killed)')
    .option('-v, --volumes', "containers: also delete the container's named volumes")
    .option('--no-wait', 'return at once')
    .action((...args: unknown[]) => {
      const removed: unknown[] = [];
      type RmOptions = { force?: boolean; volumes?: boolean; wait: boolean };
      return forEach(
        program,
        async (c, json, t, ct, o: RmOptions) => {
          if (!ct) return void removed.push(await vmRemove(c, json, t, o.wait));
          const gone = await c.call('deleteContainer', {
            params: { id: ct.id },
            query: { ...(o.force ? { force: 'true' } : {}), ...(o.volumes ? { volumes: 'true' } : {}) },
          });
          if (o.wait) {
            await waitContainer(c, ct.id, 'removed', 900).catch((e: unknown) => {
              if (!(e instanceof HearthError && e.code === 'CONTAINER_NOT_FOUND')) throw e;
            });
          }
          removed.push(gone);
          if (!json) console.log(t);
        },
        (json) => {
          if (json) printJson(removed);
        },
      )(...(args as [string[], RmOptions]));
    });

  program
    .command('inspect <target...>')
    .alias('get')
    .description('Show containers or VMs (--json: the API object)')
    .action(
      forEach(program, async (c, json, t, ct) => {
        if (!ct) return vmInspect(c, json, t);
        if (json) printJson(ct);
        else console.log(containerDetails(ct));
      }),
    );
}

/** `hearth exec` for a container or a VM: streamed output, or a TTY through the VM's shell socket. */
const shq = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

function accessVerbs(program: Command): void {
  program
    .command('logs <target>')
    .description("A container's output (docker logs), or a VM's serial console log")
    .option('-f, --follow', 'containers: keep printing new lines')
    .option(
      '--since <time>',
      'containers: lines since a time (RFC 3339, unix seconds) or for a duration back (10m)',
    )
    .option('--until <time>', 'containers: lines before a time or a duration back')
    .option(
      '-n, --tail <n>',
      'containers: lines from the end (or all); VMs: bytes from the end (default 65536)',
    )
    .option('-t, --timestamps', 'containers: prefix each line with its time')
    .action(
      act(
        program,
        async (
          c,
          _json,
          t: string,
          o: { follow?: boolean; since?: string; until?: string; tail?: string; timestamps?: boolean },
        ) => {
          const ct = await findContainer(c, t);
          if (!ct) {
            const tail = o.tail === undefined ? 65536 : Number(o.tail);
            if (!Number.isInteger(tail) || tail < 1)
              throw new UsageError(`--tail ${o.tail} must be a number of bytes for a VM.`);
            return vmConsoleLog(c, t, tail);
          }
          if (o.tail !== undefined && o.tail !== 'all' && !/^\d+$/.test(o.tail)) {
            throw new UsageError(`--tail ${o.tail} must be a number of lines or all.`);
          }
          const stop = new AbortController();
          const onSigint = () => stop.abort();
          process.once('SIGINT', onSigint);
          try {
            await printLogs(c, ct.id, { ...o, signal: stop.signal });
          } finally {
            process.off('SIGINT', onSigint);
          }
        },
      ),
    );

  program
    .command('exec <target> <command...>')
    .description('Run a command in a container or VM; exits with its status (-it: an interactive terminal)')
    .option('-i, --interactive', "pass this process's stdin (the default when stdin is not a terminal)")
    .option('-t, --tty', 'allocate a terminal (through the shell WebSocket of the VM)')
    .option('-e <KEY=VALUE>', 'set a variable (repeatable)', collect)
    .option('--env <KEY=VALUE...>', 'extra environment (use -- before the command)')
    .option('-w, --workdir <dir>', 'working directory')
    .option('--cwd <dir>', 'working directory (as -w)')
    .option('-u, --user <user>', 'run as this user (default root)')
    .option('--timeout <duration>', 'kill the command after this long, e.g. 30s (not with -t)')
    .action(
      act(program, async (c, _json, t: string, command: string[], o: Record<string, unknown>) => {
        const env = Object.fromEntries(
          [...((o.e as string[] | undefined) ?? []), ...((o.env as string[] | undefined) ?? [])].map((kv) => {
            const i = kv.indexOf('=');
            if (i < 1) throw new UsageError(`-e ${kv} must look like KEY=VALUE.`);
            return [kv.slice(0, i), kv.slice(i + 1)];
          }),
        );
        const cwd = (o.workdir ?? o.cwd) as string | undefined;
        const ct = await findContainer(c, t);
        if (o.tty) {
          const vm = ct ? ct.vm : t;
          if (!vm) throw new HearthError('CONTAINER_NOT_RUNNING', `${t} has no VM running.`);
          // The shell socket runs a command line: the container's environment and directory are set on it.
          const vars = { ...(ct?.env ?? {}), ...env };
          const dir = cwd ?? ct?.workdir ?? null;
          const line = [
            ...(dir ? [`cd ${shq(dir)} &&`] : []),
            'exec',
            ...(Object.keys(vars).length
              ? ['env', ...Object.entries(vars).map(([k, v]) => shq(`${k}=${v}`))]
              : []),
            ...command.map(shq),
          ].join(' ');
          const user = (o.user as string | undefined) ?? ct?.user ?? undefined;
          process.exitCode = await runTerminal(
            shellTarget(c, vm, { command: line, ...(user ? { user } : {}) }),
            {
              resize: true,
            },
          );
          return;
        }
        const timeoutMs = o.timeout === undefined ? undefined : parseDuration(String(o.timeout));
        if (timeoutMs === null) throw new UsageError(`--timeout ${o.timeout} is not a duration (try 30s).`);
        const stdin = await readStdin();
        process.exitCode = await execStream(
          c,
          ct ? ct.id : t,
          {
            command,
            ...(Object.keys(env).length ? { env } : {}),
            ...(o.user ? { user: o.user } : {}),
            ...(cwd ? { cwd } : {}),
            ...(timeoutMs ? { timeoutMs } : {}),
            ...(stdin ? { stdin: stdin.toString('base64'), stdinEncoding: 'base64' } : {}),
          },
          ct ? 'containerExec' : 'execVm',
        );
      }),
    );
}

export function sharedVerbs(program: Command): void {
  lifecycleVerbs(program);
  accessVerbs(program);
}
