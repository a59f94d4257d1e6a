import type { CreateContainerBody } from '@hearth/contract';
import { DockerError } from './errors.ts';

/** The fields of Docker's `POST /containers/create` body that Hearth reads or refuses. */
export interface DockerCreateBody {
  Image?: string;
  Cmd?: string[] | null;
  Entrypoint?: string[] | string | null;
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
  Labels?: Record<string, string> | null;
  ExposedPorts?: Record<string, unknown> | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  AttachStdin?: boolean;
  Volumes?: Record<string, unknown> | null;
  StopSignal?: string;
  StopTimeout?: number | null;
  Healthcheck?: {
    Test?: string[] | null;
    Interval?: number;
    Timeout?: number;
    Retries?: number;
    StartPeriod?: number;
  } | null;
  HostConfig?: {
    Binds?: string[] | null;
    Mounts?: Array<{ Type?: string; Source?: string; Target?: string; ReadOnly?: boolean }> | null;
    PortBindings?: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null;
    RestartPolicy?: { Name?: string; MaximumRetryCount?: number } | null;
    Memory?: number;
    NanoCpus?: number;
    NetworkMode?: string;
    Privileged?: boolean;
    AutoRemove?: boolean;
    PublishAllPorts?: boolean;
    CapAdd?: string[] | null;
    Devices?: unknown[] | null;
  } | null;
}

const refuse = (what: string, why: string) =>
  new DockerError(400, `${what} is not supported by Hearth: ${why} (see docs/docker.md).`);

/** Docker durations are nanoseconds; 0 means "the default". */
function duration(ns: number | undefined): string | undefined {
  if (!ns || ns <= 0) return undefined;
  return `${Math.max(1, Math.round(ns / 1e6))}ms`;
}

function env(list: string[] | null | undefined): Record<string, string> | undefined {
  if (!list?.length) return undefined;
  const out: Record<string, string> = {};
  // `-e NAME` without a value is resolved (or dropped) by the client; a bare name here is skipped.
  for (const kv of list) {
    const i = kv.indexOf('=');
    if (i > 0) out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

function ports(b: NonNullable<DockerCreateBody['HostConfig']>['PortBindings']): CreateContainerBody['ports'] {
  const out: NonNullable<CreateContainerBody['ports']> = [];
  for (const [key, bindings] of Object.entries(b ?? {})) {
    const m = /^(\d+)(?:\/(tcp|udp))?$/.exec(key);
    if (!m) throw refuse(`Publishing ${key}`, 'publish one port, not a range');
    for (const bind of bindings ?? []) {
      if (bind.HostIp && bind.HostIp !== '0.0.0.0' && bind.HostIp !== '::')
        throw refuse(`Publishing on ${bind.HostIp}`, 'published ports listen on every address of the host');
      if (!bind.HostPort || !/^\d+$/.test(bind.HostPort))
        throw refuse(
          `Publishing ${key} without a host port`,
          'give both ports, `-p HOST:CONTAINER` (Hearth picks no random host port)',
        );
      out.push({
        host: Number(bind.HostPort),
        container: Number(m[1]),
        protocol: (m[2] ?? 'tcp') as 'tcp' | 'udp',
      });
    }
  }
  return out.length ? out : undefined;
}

function volumes(hc: NonNullable<DockerCreateBody['HostConfig']>): CreateContainerBody['volumes'] {
  const out: NonNullable<CreateContainerBody['volumes']> = [];
  for (const bind of hc.Binds ?? []) {
    const [source = '', target = '', mode = ''] = bind.split(':');
    if (source.startsWith('/') || source.startsWith('.'))
      throw refuse(
        `Bind mount ${source}`,
        'a container is a VM on some host; use a named volume, `-v NAME:/path`',
      );
    out.push({ source, target, readOnly: mode.split(',').includes('ro') });
  }
  for (const m of hc.Mounts ?? []) {
    if (m.Type !== 'volume')
      throw refuse(`A ${m.Type ?? 'typeless'} mount`, 'only named volumes (`--mount type=volume,…`) are');
    if (!m.Source) throw refuse('An anonymous volume', 'name it (`-v NAME:/path`)');
    out.push({ source: m.Source, target: m.Target ?? '', readOnly: Boolean(m.ReadOnly) });
  }
  return out.length ? out : undefined;
}

function restart(p: { Name?: string; MaximumRetryCount?: number } | null | undefined): string | undefined {
  const name = p?.Name ?? '';
  if (name === '' || name === 'no') return undefined;
  if (name === 'on-failure' && p?.MaximumRetryCount) return `on-failure:${p.MaximumRetryCount}`;
  return name;
}

function healthcheck(h: DockerCreateBody['Healthcheck']): CreateContainerBody['healthcheck'] {
  const test = h?.Test ?? [];
  if (!test.length || test[0] === 'NONE') return undefined;
  const [kind, ...rest] = test;
  let cmd: string | string[];
  if (kind === 'CMD-SHELL') cmd = rest.join(' ');
  else if (kind === 'CMD') cmd = rest;
  else throw refuse(`Health check test ${kind}`, 'use CMD or CMD-SHELL');
  const interval = duration(h?.Interval);
  const timeout = duration(h?.Timeout);
  const startPeriod = duration(h?.StartPeriod);
  return {
    cmd,
    ...(interval ? { interval } : {}),
    ...(timeout ? { timeout } : {}),
    ...(startPeriod ? { startPeriod } : {}),
    ...(h?.Retries ? { retries: h.Retries } : {}),
  } as CreateContainerBody['healthcheck'];
}

/**
 * Docker's create body as Hearth's (without the image, which the route resolves). What Hearth
 * cannot honour is refused by name rather than ignored: a TTY or stdin for the app, host
 * networking, privileges, bind mounts, random host ports.
 */
export function translateCreate(
  d: DockerCreateBody,
  name: string | undefined,
): Omit<CreateContainerBody, 'image'> {
  const hc = d.HostConfig ?? {};
  if (d.Tty)
    throw refuse('A TTY for the app (`-t`)', 'the app writes to its log; `docker exec -it` has a TTY');
  if (d.OpenStdin || d.AttachStdin)
    throw refuse('Stdin for the app (`-i`, attach)', 'run it detached (`docker run -d`)');
  if (hc.Privileged)
    throw refuse('--privileged', 'the container is a VM; its app runs as root in it already');
  if (hc.AutoRemove) throw refuse('--rm', 'remove it with `docker rm -f` once done');
  if (hc.PublishAllPorts) throw refuse('-P', 'publish each port, `-p HOST:CONTAINER`');
  if (hc.CapAdd?.length) throw refuse('--cap-add', 'capabilities are the VM’s own');
  if (hc.Devices?.length) throw refuse('--device', 'host devices do not reach a VM');
  if (d.Volumes && Object.keys(d.Volumes).length)
    throw refuse('An anonymous volume', 'name it (`-v NAME:/path`)');
  const mode = hc.NetworkMode ?? '';
  if (mode === 'host' || mode === 'none' || mode.startsWith('container:'))
    throw refuse(`--network ${mode}`, 'each container is a VM on a Hearth network');
  const network = mode && mode !== 'default' && mode !== 'bridge' ? mode : undefined;
  const entrypoint =
    d.Entrypoint == null
      ? undefined
      : typeof d.Entrypoint === 'string'
        ? [d.Entrypoint]
        : d.Entrypoint.filter((x, i, a) => !(a.length === 1 && x === ''));
  const out: Omit<CreateContainerBody, 'image'> = {
    ...(name ? { name } : {}),
    pull: 'never',
    start: false,
    ...(entrypoint ? { entrypoint } : {}),
    ...(d.Cmd?.length ? { command: d.Cmd } : {}),
    ...(d.WorkingDir ? { workdir: d.WorkingDir } : {}),
    ...(d.User ? { user: d.User } : {}),
    ...(env(d.Env) ? { env: env(d.Env) } : {}),
    ...(d.Labels && Object.keys(d.Labels).length ? { labels: d.Labels } : {}),
    ...(ports(hc.PortBindings) ? { ports: ports(hc.PortBindings) } : {}),
    ...(volumes(hc) ? { volumes: volumes(hc) } : {}),
    ...(restart(hc.RestartPolicy) ? { restart: restart(hc.RestartPolicy) } : {}),
    ...(hc.Memory ? { memoryMib: Math.ceil(hc.Memory / 2 ** 20) } : {}),
    ...(hc.NanoCpus ? { vcpus: Math.ceil(hc.NanoCpus / 1e9) } : {}),
    ...(network ? { network } : {}),
    ...(healthcheck(d.Healthcheck) ? { healthcheck: healthcheck(d.Healthcheck) } : {}),
    ...(d.StopSignal ? { stopSignal: d.StopSignal } : {}),
    ...(typeof d.StopTimeout === 'number' ? { stopGraceSeconds: d.StopTimeout } : {}),
  };
  return out;
}
