import { ContainerState, type Container, type ContainerPort, type UserRouteId } from '@hearth/contract';
import { formatDuration } from '../../lib/format.ts';

/** States that change by themselves soon: the pages poll quickly while a container is in one. */
const MOVING: readonly ContainerState[] = [
  'creating',
  'pulling',
  'starting',
  'restarting',
  'stopping',
  'removing',
];

export const isMoving = (c: Pick<Container, 'state'>): boolean => MOVING.includes(c.state);

/**
 * The state as a Docker user reads it: `running (healthy)`, `exited (1)`, `pulling (45%)`,
 * `restarting (3 restarts)`.
 */
export function stateText(c: Pick<Container, 'state' | 'health' | 'exitCode' | 'pull' | 'restarts'>): string {
  switch (c.state) {
    case 'running':
      return c.health ? `running (${c.health === 'starting' ? 'health: starting' : c.health})` : 'running';
    case 'exited':
      return c.exitCode === null ? 'exited' : `exited (${c.exitCode})`;
    case 'pulling':
      return c.pull?.percent != null ? `pulling (${Math.round(c.pull.percent)}%)` : 'pulling';
    case 'restarting':
      return c.restarts
        ? `restarting (${c.restarts} ${c.restarts === 1 ? 'restart' : 'restarts'})`
        : 'restarting';
    default:
      return c.state;
  }
}

export type Tone = 'good' | 'bad' | 'warn' | 'busy' | 'idle';

/** The badge colour: a running but unhealthy container is a warning, a non-zero exit is bad. */
export function stateTone(c: Pick<Container, 'state' | 'health' | 'exitCode'>): Tone {
  switch (c.state) {
    case 'running':
      return c.health === 'unhealthy' ? 'warn' : 'good';
    case 'failed':
      return 'bad';
    case 'exited':
      return c.exitCode !== null && c.exitCode !== 0 ? 'bad' : 'idle';
    case 'paused':
      return 'warn';
    default:
      return isMoving(c) ? 'busy' : 'idle';
  }
}

/** Published ports as Docker prints them, host first: `8080→80/tcp, 5353→53/udp`. */
export const portsText = (ports: readonly ContainerPort[]): string =>
  ports.length ? ports.map((p) => `${p.host}→${p.container}/${p.protocol}`).join(', ') : '—';

/**
 * How long it has been up (`Up 5m 3s`), or since when it is down (`Exited 2m ago`), from the
 * record's times; `now` ticks in the page.
 */
export function uptimeText(
  c: Pick<Container, 'state' | 'startedAt' | 'finishedAt'>,
  now: number = Date.now(),
): string {
  const since = (iso: string) => formatDuration((now - Date.parse(iso)) / 1000);
  if ((c.state === 'running' || c.state === 'paused') && c.startedAt) return `Up ${since(c.startedAt)}`;
  if ((c.state === 'exited' || c.state === 'failed') && c.finishedAt) return `Down ${since(c.finishedAt)}`;
  return '—';
}

export type ContainerAction = 'start' | 'stop' | 'restart' | 'remove';

/** The route behind each action (its role in the contract's `routeRoles` gates the button). */
export const ACTION_ROUTE: Record<ContainerAction, UserRouteId> = {
  start: 'startContainer',
  stop: 'stopContainer',
  restart: 'restartContainer',
  remove: 'deleteContainer',
};

/** States each action is offered from; the manager still decides (CONTAINER_INVALID_STATE). */
const OFFERED: Record<ContainerAction, readonly ContainerState[]> = {
  start: ['exited', 'failed'],
  stop: ['running', 'starting', 'restarting', 'paused'],
  restart: ['running', 'restarting', 'exited', 'failed'],
  remove: ContainerState.options.filter((st) => st !== 'removing'),
};

/** States a container is removed from without `force` (anything else is killed first). */
const REMOVABLE: readonly ContainerState[] = ['exited', 'failed', 'creating', 'pulling'];

export const canDo = (action: ContainerAction, c: Pick<Container, 'state'>): boolean =>
  OFFERED[action].includes(c.state);

/** Whether removing it needs `force` (it runs, or is on its way up or down). */
export const needsForce = (c: Pick<Container, 'state'>): boolean => !REMOVABLE.includes(c.state);

/**
 * How often a container page refetches: every second while a container is in a state it leaves
 * by itself (pull progress has no VM change to follow), else every 15 s for what no VM change shows.
 */
export const refreshEvery = (q: { state: { data?: Container | Container[] | undefined } }): number =>
  (Array.isArray(q.state.data) ? q.state.data : q.state.data ? [q.state.data] : []).some(isMoving)
    ? 1000
    : 15_000;
