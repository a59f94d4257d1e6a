import { readFileSync } from 'node:fs';
import type { CreateContainerBody, HealthCheck } from '@hearth/contract';
import { UsageError } from './usage-error.ts';
import {
  dockerDuration,
  memoryMib,
  parseEnvFile,
  parseEnvItem,
  parseLabel,
  parsePort,
  parseSecretEnv,
  parseVolume,
  restartPolicy,
  vcpus,
} from './docker-flags.ts';

/** The options `hearth run` takes, as commander hands them over. */
export interface RunOptions {
  detach?: boolean;
  name?: string;
  publish?: string[];
  env?: string[];
  envFile?: string[];
  volume?: string[];
  restart?: string;
  memory?: string;
  cpus?: string;
  healthCmd?: string;
  healthInterval?: string;
  healthTimeout?: string;
  healthRetries?: string;
  healthStartPeriod?: string;
  network?: string;
  label?: string[];
  entrypoint?: string;
  workdir?: string;
  user?: string;
  secretEnv?: string[];
  pull?: string;
  rm?: boolean;
  stopSignal?: string;
  stopTimeout?: string;
}

/** Commander collector for a repeatable flag (`-e A=1 -e B=2`). */
export const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

function healthcheck(o: RunOptions): HealthCheck | undefined {
  const tuning = [o.healthInterval, o.healthTimeout, o.healthRetries, o.healthStartPeriod];
  if (!o.healthCmd) {
    if (tuning.some((t) => t !== undefined)) {
      throw new UsageError(
        '--health-interval, --health-timeout, --health-retries and --health-start-period need --health-cmd.',
      );
    }
    return undefined;
  }
  const retries = o.healthRetries === undefined ? undefined : Number(o.healthRetries);
  if (retries !== undefined && (!Number.isInteger(retries) || retries < 1 || retries > 100)) {
    throw new UsageError(`--health-retries ${o.healthRetries} must be a whole number from 1 to 100.`);
  }
  return {
    cmd: o.healthCmd,
    ...(o.healthInterval ? { interval: dockerDuration(o.healthInterval, '--health-interval') } : {}),
    ...(o.healthTimeout ? { timeout: dockerDuration(o.healthTimeout, '--health-timeout') } : {}),
    ...(retries !== undefined ? { retries } : {}),
    ...(o.healthStartPeriod
      ? { startPeriod: dockerDuration(o.healthStartPeriod, '--health-start-period') }
      : {}),
  } as HealthCheck;
}

function readEnvFiles(files: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      throw new UsageError(`--env-file ${f} is not a readable file.`);
    }
    Object.assign(env, parseEnvFile(text, f, { quotes: false }));
  }
  return env;
}

/** The create body for `hearth run [options] IMAGE [CMD…]`; -e wins over --env-file, as in Docker. */
export function runBody(
  image: string,
  command: string[],
  o: RunOptions,
  project: string | null,
): CreateContainerBody {
  const env = readEnvFiles(o.envFile ?? []);
  for (const item of o.env ?? []) {
    const kv = parseEnvItem(item, '-e');
    if (kv) env[kv[0]] = kv[1];
  }
  if (o.pull !== undefined && !['missing', 'always', 'never'].includes(o.pull)) {
    throw new UsageError(`--pull ${o.pull} must be missing, always or never.`);
  }
  if (o.rm && o.detach) {
    throw new UsageError('--rm works with a container run in the foreground only (not with -d).');
  }
  const labels = Object.fromEntries((o.label ?? []).map((l) => parseLabel(l)));
  const secretEnv = Object.fromEntries((o.secretEnv ?? []).map(parseSecretEnv));
  const body: CreateContainerBody = {
    image,
    ...(o.name ? { name: o.name } : {}),
    ...(project ? { project } : {}),
    ...(o.pull ? { pull: o.pull as 'missing' | 'always' | 'never' } : {}),
    ...(o.entrypoint !== undefined ? { entrypoint: o.entrypoint === '' ? [] : [o.entrypoint] } : {}),
    ...(command.length ? { command } : {}),
    ...(o.workdir ? { workdir: o.workdir } : {}),
    ...(o.user ? { user: o.user } : {}),
    ...(Object.keys(env).length ? { env } : {}),
    ...(Object.keys(secretEnv).length ? { secretEnv } : {}),
    ...(o.publish?.length ? { ports: o.publish.map((p) => parsePort(p)) } : {}),
    ...(o.volume?.length ? { volumes: o.volume.map((v) => parseVolume(v)) } : {}),
    ...(o.cpus !== undefined ? { vcpus: vcpus(o.cpus, '--cpus') } : {}),
    ...(o.memory !== undefined ? { memoryMib: memoryMib(o.memory, '--memory') } : {}),
    ...(o.network ? { network: o.network } : {}),
    ...(Object.keys(labels).length ? { labels } : {}),
    ...(o.restart ? { restart: restartPolicy(o.restart) } : {}),
    ...(o.stopSignal ? { stopSignal: o.stopSignal } : {}),
    ...(o.stopTimeout !== undefined ? { stopGraceSeconds: wholeSeconds(o.stopTimeout) } : {}),
  };
  const hc = healthcheck(o);
  if (hc) body.healthcheck = hc;
  if (o.workdir && !o.workdir.startsWith('/'))
    throw new UsageError(`-w ${o.workdir} is not an absolute path.`);
  return body;
}

function wholeSeconds(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 3600) {
    throw new UsageError(`--stop-timeout ${text} must be whole seconds from 0 to 3600.`);
  }
  return n;
}
