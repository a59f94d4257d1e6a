import type { Command } from 'commander';
import { HearthError, type Container } from '@hearth/contract';
import type { HearthClient } from '@hearth/sdk';
import { printJson } from '../output.ts';
import { collect, runBody, type RunOptions } from '../run-body.ts';
import { pullProgress, waitContainer } from './container-api.ts';
import { printLogs, type LogCursor } from './container-logs.ts';
import { act } from './vm.ts';

/** Docker's exit status when the container could not be run at all. */
const RUN_FAILED = 125;

/** Waits until running, showing pull progress; a container that already ended is returned as it is. */
async function untilRunning(c: HearthClient, ct: Container, timeoutS: number, quiet: boolean) {
  const progress = pullProgress(quiet);
  progress(ct);
  try {
    return await waitContainer(c, ct.id, 'running', timeoutS, { onPoll: progress, step: 2 });
  } catch (e) {
    if (!(e instanceof HearthError) || e.code === 'WAIT_TIMEOUT') throw e;
    // A short-lived command may have finished before it was seen running: its exit is the answer.
    const now = await c.call('getContainer', { params: { id: ct.id } });
    if (now.state === 'exited') return now;
    throw e;
  }
}

/**
 * The foreground run: follows the logs until the container exits, then prints what the follow
 * had not shown yet. Ctrl-C detaches (the container keeps running), as `docker run
 * --sig-proxy=false` does. Resolves with the exit status for this process.
 */
async function attach(c: HearthClient, ct: Container, rm: boolean): Promise<number> {
  const stop = new AbortController();
  let detached = false;
  const onSigint = () => {
    detached = true;
    stop.abort();
  };
  process.once('SIGINT', onSigint);
  try {
    // Logs that cannot be read do not end the run: the exit code is still waited for.
    const cursor: LogCursor = { t: null, atT: 0 };
    const logsFailed = (e: unknown) => {
      process.stderr.write(`warning: the logs of ${ct.name} could not be read: ${(e as Error).message}\n`);
    };
    const following = printLogs(c, ct.id, { follow: true, signal: stop.signal }, cursor).catch(logsFailed);
    const ended = await waitContainer(c, ct.id, 'exited', 366 * 86_400, { signal: stop.signal }).catch(
      (e: unknown) => {
        if (detached) return null;
        throw e;
      },
    );
    stop.abort();
    await following;
    if (!ended) {
      process.stderr.write(
        `\ndetached: ${ct.name} keeps running (hearth logs -f ${ct.name}, hearth stop ${ct.name})\n`,
      );
      return 130;
    }
    // The lines the follow had not delivered when the exit was seen.
    await printLogs(c, ct.id, cursor.t ? { since: cursor.t } : {}, cursor).catch(logsFailed);
    if (rm) await c.call('deleteContainer', { params: { id: ct.id }, query: { force: 'true' } });
    if (ended.state === 'failed' || ended.exitCode === null) {
      process.stderr.write(
        `error: ${ct.name} ${ended.state}${ended.stateReason ? `: ${ended.stateReason}` : ''}\n`,
      );
      return RUN_FAILED;
    }
    return ended.exitCode;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export function runCommand(program: Command): void {
  program
    .command('run <image> [command...]')
    .description(
      'Run a container from an image (docker run): pulls it (progress on stderr), waits until it runs; without -d follows its logs and exits with its exit code (Ctrl-C detaches)',
    )
    .option('-d, --detach', 'print the container id once it runs and return')
    .option('--name <name>', 'container name (unique per project)')
    .option('-p, --publish <HOST:CONTAINER[/udp]>', 'publish a port (repeatable)', collect)
    .option('-e, --env <KEY=VALUE>', 'set a variable; a bare KEY copies it from here (repeatable)', collect)
    .option('--env-file <file>', 'read KEY=VALUE lines (repeatable)', collect)
    .option(
      '-v, --volume <VOLUME:/path[:ro]>',
      'mount a named volume, created on first use (repeatable)',
      collect,
    )
    .option('--restart <policy>', 'no, on-failure[:MAX], always or unless-stopped')
    .option('-m, --memory <size>', 'memory, e.g. 256m or 1g')
    .option('--cpus <n>', 'CPUs (rounded up to whole vCPUs)')
    .option('--health-cmd <command>', 'health check command, run with /bin/sh -c')
    .option('--health-interval <duration>', 'time between checks, e.g. 30s or 1m30s')
    .option('--health-timeout <duration>', 'time one check may take')
    .option('--health-retries <n>', 'failures in a row before unhealthy')
    .option('--health-start-period <duration>', 'failures during this start-up time do not count')
    .option('--network <network>', 'network name or id (default: the NAT network)')
    .option('-l, --label <KEY=VALUE>', 'set a label (repeatable)', collect)
    .option('--entrypoint <command>', 'replace the image\'s ENTRYPOINT ("" clears it)')
    .option('-w, --workdir <dir>', 'working directory in the container')
    .option('-u, --user <user>', 'user, uid, user:group or uid:gid')
    .option(
      '--secret-env <VAR=SECRET>',
      'a variable whose value is the project secret SECRET (repeatable)',
      collect,
    )
    .option('--pull <policy>', 'missing (default), always or never')
    .option('--stop-signal <signal>', 'signal that stops the app (default SIGTERM)')
    .option('--stop-timeout <seconds>', 'seconds between the stop signal and SIGKILL (default 10)')
    .option('--rm', 'remove the container when it exits (foreground only)')
    .option('--wait-timeout <seconds>', 'how long to wait until it runs', (v) => Number(v), 900)
    .action(
      act(
        program,
        async (c, json, image: string, command: string[], o: RunOptions & { waitTimeout: number }) => {
          const body = runBody(image, command, o, c.project);
          let ct = await c.call('createContainer', { body });
          ct = await untilRunning(c, ct, o.waitTimeout, json);
          if (o.detach) {
            if (json) printJson(ct);
            else console.log(ct.id);
            return;
          }
          if (!json)
            process.stderr.write(
              `${ct.name} (${ct.id}) is ${ct.state}; its output follows (Ctrl-C detaches)\n`,
            );
          process.exitCode = await attach(c, ct, Boolean(o.rm));
        },
      ),
    );
}
