import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CreateContainerBody, HealthCheck } from '@hearth/contract';
import { UsageError } from '../usage-error.ts';
import {
  dockerDuration,
  durationSeconds,
  memoryMib,
  parseEnvFile,
  parseEnvItem,
  parsePort,
  parseVolume,
  restartPolicy,
  shellWords,
  vcpus,
} from '../docker-flags.ts';
import type { ComposeService } from './schema.ts';

/** Labels Docker Compose puts on its containers; `compose ps/down/logs` find a project's containers by them. */
export const PROJECT_LABEL = 'com.docker.compose.project';
export const SERVICE_LABEL = 'com.docker.compose.service';
/** A digest of the service's container body: `up` recreates a container whose configuration changed. */
export const CONFIG_HASH_LABEL = 'com.docker.compose.config-hash';

export interface ServiceContext {
  project: string;
  dir: string;
  env: Record<string, string | undefined>;
  /** Compose volume key → the Hearth volume's name. */
  volumes: Map<string, string>;
  /** Compose network key → the Hearth network's name. */
  networks: Map<string, string>;
}

const words = (v: string | string[], where: string) => (typeof v === 'string' ? shellWords(v, where) : v);

function keyValues(
  v: string[] | Record<string, string | number | boolean | null>,
  where: string,
  env: Record<string, string | undefined>,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(v)) {
    v.forEach((item, i) => {
      const kv = parseEnvItem(item, `${where}[${i}]`, env);
      if (kv) out[kv[0]] = kv[1];
    });
  } else {
    for (const [k, val] of Object.entries(v)) {
      if (val === null) {
        const fromEnv = env[k];
        if (fromEnv !== undefined) out[k] = fromEnv;
      } else out[k] = String(val);
    }
  }
  return out;
}

function envFiles(s: ComposeService, where: string, ctx: ServiceContext): Record<string, string> {
  const files = s.env_file === undefined ? [] : typeof s.env_file === 'string' ? [s.env_file] : s.env_file;
  const env: Record<string, string> = {};
  files.forEach((f, i) => {
    const { path, required } = typeof f === 'string' ? { path: f, required: true } : f;
    let text: string;
    try {
      text = readFileSync(resolve(ctx.dir, path), 'utf8');
    } catch {
      if (required === false) return;
      throw new UsageError(`${where}.env_file[${i}]: ${path} is not a readable file.`);
    }
    Object.assign(env, parseEnvFile(text, path, { quotes: true, environ: ctx.env as NodeJS.ProcessEnv }));
  });
  return env;
}

function healthcheck(h: NonNullable<ComposeService['healthcheck']>, where: string): HealthCheck | undefined {
  if (h.disable) return undefined;
  if (h.test === undefined) {
    throw new UsageError(
      `${where}.healthcheck.test: required (hearth does not read HEALTHCHECK from images).`,
    );
  }
  const test = typeof h.test === 'string' ? ['CMD-SHELL', h.test] : h.test;
  const [kind, ...rest] = test;
  let cmd: string | string[];
  if (kind === 'NONE') return undefined;
  if (kind === 'CMD' && rest.length) cmd = rest;
  else if (kind === 'CMD-SHELL' && rest.length) cmd = rest.join(' ');
  else {
    throw new UsageError(
      `${where}.healthcheck.test: must be a string, [CMD, …], [CMD-SHELL, "…"] or [NONE].`,
    );
  }
  const retries = h.retries === undefined ? undefined : Number(h.retries);
  if (retries !== undefined && (!Number.isInteger(retries) || retries < 1 || retries > 100)) {
    throw new UsageError(`${where}.healthcheck.retries: ${h.retries} must be a whole number from 1 to 100.`);
  }
  const d = (v: string | undefined, key: string) =>
    v === undefined
      ? {}
      : { [key === 'start_period' ? 'startPeriod' : key]: dockerDuration(v, `${where}.healthcheck.${key}:`) };
  return {
    cmd,
    ...d(h.interval, 'interval'),
    ...d(h.timeout, 'timeout'),
    ...d(h.start_period, 'start_period'),
    ...(retries !== undefined ? { retries } : {}),
  } as HealthCheck;
}

function ports(s: ComposeService, where: string) {
  return (s.ports ?? []).map((p, i) => {
    const at = `${where}.ports[${i}]:`;
    if (typeof p === 'object') {
      if (p.host_ip !== undefined && p.host_ip !== '0.0.0.0') {
        throw new UsageError(`${at} host_ip ${p.host_ip}: only 0.0.0.0 is supported.`);
      }
      return parsePort(`${p.published}:${p.target}/${p.protocol ?? 'tcp'}`, at);
    }
    return parsePort(String(p), at);
  });
}

function volumes(s: ComposeService, where: string, ctx: ServiceContext) {
  return (s.volumes ?? []).map((v, i) => {
    const at = `${where}.volumes[${i}]`;
    const spec =
      typeof v === 'string'
        ? parseVolume(v, `${at}:`)
        : v.type !== 'volume' || !v.source
          ? (() => {
              throw new UsageError(
                `${at}.type: ${v.type} mounts are not supported by hearth compose; use a named volume.`,
              );
            })()
          : parseVolume(`${v.source}:${v.target}${v.read_only ? ':ro' : ''}`, `${at}:`);
    const name = ctx.volumes.get(spec.source);
    if (!name)
      throw new UsageError(`${at}: the volume ${spec.source} is not declared under the top-level volumes:.`);
    return { ...spec, source: name };
  });
}

function network(s: ComposeService, where: string, ctx: ServiceContext): string {
  const keys =
    s.networks === undefined ? ['default'] : Array.isArray(s.networks) ? s.networks : Object.keys(s.networks);
  if (keys.length !== 1) {
    throw new UsageError(
      `${where}.networks: a hearth container joins exactly one network (${keys.length} given).`,
    );
  }
  const name = ctx.networks.get(keys[0]!);
  if (!name)
    throw new UsageError(
      `${where}.networks: the network ${keys[0]} is not declared under the top-level networks:.`,
    );
  return name;
}

/** The container body of one service (without the Hearth project: the client's project applies). */
export function serviceBody(service: string, s: ComposeService, ctx: ServiceContext): CreateContainerBody {
  const where = `services.${service}`;
  const env = {
    ...envFiles(s, where, ctx),
    ...(s.environment ? keyValues(s.environment, `${where}.environment`, ctx.env) : {}),
  };
  const labels = s.labels ? keyValues(s.labels, `${where}.labels`, ctx.env) : {};
  const hc = s.healthcheck ? healthcheck(s.healthcheck, where) : undefined;
  const body: CreateContainerBody = {
    name: s.container_name ?? `${ctx.project}-${service}-1`,
    image: s.image,
    ...(s.pull_policy ? { pull: s.pull_policy === 'if_not_present' ? 'missing' : s.pull_policy } : {}),
    ...(s.entrypoint != null ? { entrypoint: words(s.entrypoint, `${where}.entrypoint`) } : {}),
    ...(s.command != null ? { command: words(s.command, `${where}.command`) } : {}),
    ...(s.working_dir ? { workdir: s.working_dir } : {}),
    ...(s.user !== undefined ? { user: String(s.user) } : {}),
    ...(Object.keys(env).length ? { env } : {}),
    ...(s.ports?.length ? { ports: ports(s, where) } : {}),
    ...(s.volumes?.length ? { volumes: volumes(s, where, ctx) } : {}),
    ...(s.cpus !== undefined ? { vcpus: vcpus(s.cpus, `${where}.cpus:`) } : {}),
    ...(s.mem_limit !== undefined ? { memoryMib: memoryMib(s.mem_limit, `${where}.mem_limit:`) } : {}),
    network: network(s, where, ctx),
    networkAliases: [service],
    ...(s.restart ? { restart: restartPolicy(s.restart, `${where}.restart:`) } : {}),
    ...(hc ? { healthcheck: hc } : {}),
    ...(s.stop_signal ? { stopSignal: s.stop_signal } : {}),
    ...(s.stop_grace_period
      ? { stopGraceSeconds: durationSeconds(s.stop_grace_period, `${where}.stop_grace_period:`) }
      : {}),
  };
  const hash = createHash('sha256').update(JSON.stringify({ body, labels })).digest('hex').slice(0, 32);
  body.labels = {
    ...labels,
    [PROJECT_LABEL]: ctx.project,
    [SERVICE_LABEL]: service,
    [CONFIG_HASH_LABEL]: hash,
  };
  return body;
}
