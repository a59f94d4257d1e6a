import type { Container, Image } from '@hearth/contract';

/** What an imported OCI image says about its process (image meta `oci`). */
export interface OciMeta {
  ref?: string;
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workdir?: string;
  user?: string;
  exposedPorts?: string[];
}

export const ociOf = (img: Image | undefined): OciMeta => (img?.meta.oci as OciMeta | undefined) ?? {};

/**
 * Docker's own wording for an age (go-units `HumanDuration`), which `docker ps` shows in its
 * STATUS column ("Up 5 minutes", "Exited (1) About an hour ago").
 */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}

export type DockerState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

/** Docker's state for a Hearth container (Docker has no pulling, booting or stopping). */
export function dockerState(c: Container): DockerState {
  switch (c.state) {
    case 'running':
    case 'stopping':
      return 'running';
    case 'paused':
      return 'paused';
    case 'restarting':
      return 'restarting';
    case 'removing':
      return 'removing';
    case 'failed':
      return 'dead';
    case 'exited':
      return c.startedAt ? 'exited' : 'created';
    default:
      return 'created';
  }
}

const since = (iso: string | null, now: number) => humanDuration(now - (iso ? Date.parse(iso) : now));

/** The STATUS column of `docker ps`, worded as Docker words it. */
export function statusText(c: Container, now = Date.now()): string {
  const s = dockerState(c);
  if (s === 'running') {
    const health =
      c.health === 'healthy'
        ? ' (healthy)'
        : c.health === 'unhealthy'
          ? ' (unhealthy)'
          : c.health === 'starting'
            ? ' (health: starting)'
            : '';
    return `Up ${since(c.startedAt, now)}${health}`;
  }
  if (s === 'paused') return `Up ${since(c.startedAt, now)} (Paused)`;
  if (s === 'restarting') return `Restarting (${c.exitCode ?? 0}) ${since(c.finishedAt, now)} ago`;
  if (s === 'removing') return 'Removal In Progress';
  if (s === 'dead') return 'Dead';
  if (s === 'created') return c.state === 'pulling' ? 'Created (pulling)' : 'Created';
  return `Exited (${c.exitCode ?? 0}) ${since(c.finishedAt, now)} ago`;
}

/** The process a container runs: its overrides, else the image's ENTRYPOINT and CMD. */
export function processOf(c: Container, oci: OciMeta): string[] {
  const entrypoint = c.entrypoint ?? oci.entrypoint ?? [];
  const cmd = c.command ?? (c.entrypoint ? [] : (oci.cmd ?? []));
  return [...entrypoint, ...cmd];
}

const unix = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/** One row of `GET /containers/json`. */
export function psItem(c: Container, img: Image | undefined) {
  return {
    Id: c.id,
    Names: [`/${c.name}`],
    Image: c.image,
    ImageID: img ? `sha256:${img.sha256}` : '',
    Command: processOf(c, ociOf(img)).join(' '),
    Created: unix(c.createdAt),
    State: dockerState(c),
    Status: statusText(c),
    Ports: c.ports.map((p) => ({
      IP: '0.0.0.0',
      PrivatePort: p.container,
      PublicPort: p.host,
      Type: p.protocol,
    })),
    Labels: c.labels,
    SizeRw: 0,
    SizeRootFs: 0,
    HostConfig: { NetworkMode: c.network ?? 'default' },
    NetworkSettings: { Networks: networks(c) },
    Mounts: mounts(c),
  };
}

function networks(c: Container) {
  return {
    [c.network ?? 'default']: {
      IPAddress: c.ip ?? '',
      Aliases: c.networkAliases,
      NetworkID: c.network ?? '',
    },
  };
}

function mounts(c: Container) {
  return c.volumes.map((v) => ({
    Type: 'volume',
    Name: v.source,
    Source: v.source,
    Destination: v.target,
    Driver: 'hearth',
    Mode: v.readOnly ? 'ro' : '',
    RW: !v.readOnly,
    Propagation: '',
  }));
}

const ZERO_TIME = '0001-01-01T00:00:00Z';
const ns = (d: string | undefined) => {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(d ?? '');
  if (!m) return 0;
  const unit = { ms: 1e6, s: 1e9, m: 60e9, h: 3600e9, d: 86400e9 }[m[2] as 'ms'];
  return Number(m[1]) * unit;
};

function healthTest(c: Container): string[] | undefined {
  const h = c.healthcheck;
  if (!h) return undefined;
  if (typeof h.cmd === 'string') return ['CMD-SHELL', h.cmd];
  if (Array.isArray(h.cmd)) return ['CMD', ...h.cmd];
  if (h.http) return ['CMD-SHELL', `hearth: GET http://127.0.0.1:${h.http.port}${h.http.path}`];
  if (h.tcp) return ['CMD-SHELL', `hearth: connect 127.0.0.1:${h.tcp.port}`];
  return undefined;
}

const portKey = (p: Container['ports'][number]) => `${p.container}/${p.protocol}`;

/** `GET /containers/{id}/json`: Docker's inspect document for a Hearth container. */
export function inspectOf(c: Container, img: Image | undefined) {
  const oci = ociOf(img);
  const [path = '', ...args] = processOf(c, oci);
  const state = dockerState(c);
  const ports: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const p of c.ports) (ports[portKey(p)] ??= []).push({ HostIp: '0.0.0.0', HostPort: String(p.host) });
  const exposed: Record<string, object> = {};
  for (const k of [...(oci.exposedPorts ?? []), ...c.ports.map(portKey)]) exposed[k] = {};
  const [restartName = 'no', max = '0'] = c.restart.split(':');
  const test = healthTest(c);
  return {
    Id: c.id,
    Created: c.createdAt,
    Path: path,
    Args: args,
    State: {
      Status: state,
      Running: state === 'running' || state === 'paused',
      Paused: state === 'paused',
      Restarting: state === 'restarting',
      OOMKilled: /\boom\b/i.test(c.stateReason ?? ''),
      Dead: state === 'dead',
      Pid: 0,
      ExitCode: c.exitCode ?? 0,
      Error: c.state === 'failed' ? (c.stateReason ?? '') : '',
      StartedAt: c.startedAt ?? ZERO_TIME,
      FinishedAt: c.finishedAt ?? ZERO_TIME,
      ...(c.health ? { Health: { Status: c.health, FailingStreak: 0, Log: [] } } : {}),
    },
    Image: img ? `sha256:${img.sha256}` : c.image,
    Name: `/${c.name}`,
    RestartCount: c.restarts,
    Driver: 'hearth-microvm',
    Platform: 'linux',
    HostConfig: {
      Binds: c.volumes.map((v) => `${v.source}:${v.target}${v.readOnly ? ':ro' : ''}`),
      NetworkMode: c.network ?? 'default',
      PortBindings: ports,
      RestartPolicy: { Name: restartName, MaximumRetryCount: Number(max) },
      AutoRemove: false,
      Memory: c.memoryMib * 2 ** 20,
      NanoCpus: c.vcpus * 1e9,
      Privileged: false,
    },
    Config: {
      Hostname: c.name,
      User: c.user ?? oci.user ?? '',
      ExposedPorts: exposed,
      Tty: false,
      OpenStdin: false,
      StdinOnce: false,
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      Env: [...(oci.env ?? []), ...Object.entries(c.env).map(([k, v]) => `${k}=${v}`)],
      Cmd: c.command ?? oci.cmd ?? null,
      Image: c.image,
      WorkingDir: c.workdir ?? oci.workdir ?? '',
      Entrypoint: c.entrypoint ?? oci.entrypoint ?? null,
      Labels: c.labels,
      StopSignal: c.stopSignal,
      StopTimeout: c.stopGraceSeconds,
      ...(test && c.healthcheck
        ? {
            Healthcheck: {
              Test: test,
              Interval: ns(c.healthcheck.interval),
              Timeout: ns(c.healthcheck.timeout),
              StartPeriod: ns(c.healthcheck.startPeriod),
              Retries: c.healthcheck.retries,
            },
          }
        : {}),
    },
    NetworkSettings: {
      IPAddress: c.ip ?? '',
      Ports: ports,
      Networks: networks(c),
    },
    Mounts: mounts(c),
    HearthVm: c.vm,
  };
}
