import { describe, expect, it } from 'vitest';
import type { Container } from '@hearth/contract';
import {
  canDo,
  isMoving,
  needsForce,
  portsText,
  refreshEvery,
  stateText,
  stateTone,
  uptimeText,
} from './status.ts';

const base = { state: 'running', health: null, exitCode: null, pull: null, restarts: 0 } as const;
type S = Pick<Container, 'state' | 'health' | 'exitCode' | 'pull' | 'restarts'>;
const c = (over: Partial<S>): S => ({ ...base, ...over });

describe('container state in words', () => {
  it('says the health of a running container and the exit code of an exited one', () => {
    expect(stateText(c({}))).toBe('running');
    expect(stateText(c({ health: 'healthy' }))).toBe('running (healthy)');
    expect(stateText(c({ health: 'unhealthy' }))).toBe('running (unhealthy)');
    expect(stateText(c({ health: 'starting' }))).toBe('running (health: starting)');
    expect(stateText(c({ state: 'exited', exitCode: 1 }))).toBe('exited (1)');
    expect(stateText(c({ state: 'exited', exitCode: 0 }))).toBe('exited (0)');
    expect(stateText(c({ state: 'exited' }))).toBe('exited');
    // Health is only about a running app: an exited one that was healthy is just exited.
    expect(stateText(c({ state: 'exited', exitCode: 137, health: 'healthy' }))).toBe('exited (137)');
  });

  it('shows pull progress and restarts', () => {
    expect(stateText(c({ state: 'pulling', pull: { percent: 44.6, message: 'layer 2 of 3' } }))).toBe(
      'pulling (45%)',
    );
    expect(stateText(c({ state: 'pulling', pull: { percent: null, message: 'resolving' } }))).toBe('pulling');
    expect(stateText(c({ state: 'pulling' }))).toBe('pulling');
    expect(stateText(c({ state: 'restarting', restarts: 1 }))).toBe('restarting (1 restart)');
    expect(stateText(c({ state: 'restarting', restarts: 3 }))).toBe('restarting (3 restarts)');
    expect(stateText(c({ state: 'failed' }))).toBe('failed');
  });

  it('colours by meaning: unhealthy warns, a non-zero exit is bad, a clean exit is not', () => {
    expect(stateTone(c({ health: 'healthy' }))).toBe('good');
    expect(stateTone(c({ health: 'unhealthy' }))).toBe('warn');
    expect(stateTone(c({ state: 'exited', exitCode: 2 }))).toBe('bad');
    expect(stateTone(c({ state: 'exited', exitCode: 0 }))).toBe('idle');
    expect(stateTone(c({ state: 'failed' }))).toBe('bad');
    expect(stateTone(c({ state: 'pulling' }))).toBe('busy');
  });
});

describe('container columns', () => {
  it('prints published ports host first, with the protocol', () => {
    expect(portsText([])).toBe('—');
    expect(
      portsText([
        { host: 8080, container: 80, protocol: 'tcp' },
        { host: 5353, container: 53, protocol: 'udp' },
      ]),
    ).toBe('8080→80/tcp, 5353→53/udp');
  });

  it('counts uptime from the start and downtime from the finish', () => {
    const now = Date.parse('2026-12-05T10:00:00Z');
    expect(uptimeText({ state: 'running', startedAt: '2026-12-05T09:54:57Z', finishedAt: null }, now)).toBe(
      'Up 5m 3s',
    );
    expect(
      uptimeText(
        { state: 'exited', startedAt: '2026-12-05T08:00:00Z', finishedAt: '2026-12-05T07:00:00Z' },
        now,
      ),
    ).toBe('Down 3h 0m');
    expect(uptimeText({ state: 'pulling', startedAt: null, finishedAt: null }, now)).toBe('—');
    expect(uptimeText({ state: 'running', startedAt: null, finishedAt: null }, now)).toBe('—');
  });
});

describe('container actions', () => {
  it('offers each action from the states it makes sense in', () => {
    const offered = (state: Container['state']) =>
      (['start', 'stop', 'restart', 'remove'] as const).filter((a) => canDo(a, { state }));
    expect(offered('running')).toEqual(['stop', 'restart', 'remove']);
    expect(offered('exited')).toEqual(['start', 'restart', 'remove']);
    expect(offered('failed')).toEqual(['start', 'restart', 'remove']);
    expect(offered('pulling')).toEqual(['remove']);
    expect(offered('removing')).toEqual([]);
  });

  it('removes with force only what still runs', () => {
    expect(needsForce({ state: 'running' })).toBe(true);
    expect(needsForce({ state: 'restarting' })).toBe(true);
    expect(needsForce({ state: 'exited' })).toBe(false);
    expect(needsForce({ state: 'pulling' })).toBe(false);
  });

  it('polls every second while a container moves by itself, else slowly', () => {
    expect(isMoving({ state: 'pulling' })).toBe(true);
    expect(isMoving({ state: 'running' })).toBe(false);
    const q = (data: unknown) => ({ state: { data: data as Container[] } });
    expect(refreshEvery(q(undefined))).toBe(15_000);
    expect(refreshEvery(q([{ state: 'running' }, { state: 'exited' }]))).toBe(15_000);
    expect(refreshEvery(q([{ state: 'running' }, { state: 'starting' }]))).toBe(1000);
    expect(refreshEvery({ state: { data: { state: 'pulling' } as Container } })).toBe(1000);
  });
});
