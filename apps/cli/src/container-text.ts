import type { Container } from '@hearth/contract';
import { table } from './format.ts';

/** Docker's human duration (go-units HumanDuration): `Less than a second`, `About a minute`, `3 hours`. */
export function humanDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.round(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(s / 3600);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}

const since = (at: string | null, now: number) => (at ? humanDuration(now - Date.parse(at)) : '?');

/** The STATUS column as Docker writes it: `Up 3 minutes (healthy)`, `Exited (1) 2 minutes ago`. */
export function containerStatus(c: Container, now = Date.now()): string {
  const health = c.health === 'starting' ? ' (health: starting)' : c.health ? ` (${c.health})` : '';
  switch (c.state) {
    case 'running':
      return `Up ${since(c.startedAt, now)}${health}`;
    case 'paused':
      return `Up ${since(c.startedAt, now)} (Paused)`;
    case 'exited':
      return c.startedAt === null && c.exitCode === null
        ? 'Created'
        : `Exited (${c.exitCode ?? 0}) ${since(c.finishedAt, now)} ago`;
    case 'restarting':
      return `Restarting (${c.exitCode ?? 0}) ${since(c.finishedAt, now)} ago`;
    case 'pulling':
      return c.pull?.percent != null ? `Pulling (${Math.round(c.pull.percent)}%)` : 'Pulling';
    case 'creating':
      return 'Created';
    case 'starting':
      return 'Starting';
    case 'stopping':
      return 'Stopping';
    case 'removing':
      return 'Removal In Progress';
    case 'failed':
      return `Failed${c.stateReason ? `: ${c.stateReason.split('\n')[0]}` : ''}`;
  }
}

/** `0.0.0.0:8080->80/tcp, 0.0.0.0:5353->53/udp`. */
export const portsText = (c: Container) =>
  c.ports.map((p) => `0.0.0.0:${p.host}->${p.container}/${p.protocol}`).join(', ');

/** Docker's COMMAND column: the quoted command line, cut at 20 characters. */
export function commandText(c: Container): string {
  const words = [...(c.entrypoint ?? []), ...(c.command ?? [])];
  const line = words.join(' ');
  return `"${line.length > 20 ? `${line.slice(0, 19)}…` : line}"`;
}

export function psTable(items: Container[], now = Date.now()): string {
  return table(
    ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'],
    items.map((c) => [
      c.id,
      c.image,
      commandText(c),
      `${since(c.createdAt, now)} ago`,
      containerStatus(c, now),
      portsText(c),
      c.name,
    ]),
  );
}

/** `hearth inspect` for a container, as text (`--json` prints the API object). */
export function containerDetails(c: Container): string {
  const rows: [string, string][] = [
    ['name', `${c.name} (${c.id})`],
    ['image', `${c.image}${c.imageDigest ? ` (${c.imageDigest})` : ''}`],
    ['status', containerStatus(c)],
    [
      'state',
      `${c.state}${c.exitCode !== null ? `, exit code ${c.exitCode}` : ''}${c.restarts ? `, ${c.restarts} restarts` : ''}`,
    ],
    ['command', [...(c.entrypoint ?? []), ...(c.command ?? [])].join(' ') || '(the image default)'],
    ['ports', portsText(c) || '-'],
    ['volumes', c.volumes.map((v) => `${v.source}:${v.target}${v.readOnly ? ':ro' : ''}`).join(', ') || '-'],
    [
      'network',
      `${c.network ?? 'default'}${c.networkAliases.length ? ` (aliases ${c.networkAliases.join(', ')})` : ''}${c.ip ? `, ip ${c.ip}` : ''}`,
    ],
    ['resources', `${c.vcpus} vCPU, ${c.memoryMib} MiB`],
    ['restart', c.restart],
    ['health', c.healthcheck ? `${c.health ?? '-'}` : 'no health check'],
    ['vm', c.vm ?? '-'],
  ];
  if (Object.keys(c.labels).length) {
    rows.push([
      'labels',
      Object.entries(c.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(', '),
    ]);
  }
  if (c.stateReason) rows.push(['reason', c.stateReason.replace(/\n/g, '\n  ')]);
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}
