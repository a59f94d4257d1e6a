import { describe, expect, it } from 'vitest';
import type { Container } from '@hearth/contract';
import { translateCreate } from './translate-create.ts';
import { humanDuration, statusText } from './translate-view.ts';
import { frame } from './frames.ts';
import { ttyCommand } from './exec-run.ts';

const base: Container = {
  id: 'ctr_1',
  name: 'web',
  project: 'default',
  image: 'nginx',
  imageId: null,
  imageDigest: null,
  entrypoint: null,
  command: null,
  workdir: null,
  user: null,
  env: {},
  secretEnv: {},
  ports: [],
  volumes: [],
  vcpus: 1,
  memoryMib: 256,
  network: null,
  networkAliases: [],
  labels: {},
  restart: 'no',
  healthcheck: null,
  stopSignal: 'SIGTERM',
  stopGraceSeconds: 10,
  state: 'running',
  stateReason: null,
  health: null,
  exitCode: null,
  restarts: 0,
  pull: null,
  vm: 'vm_1',
  host: null,
  ip: null,
  createdAt: '2026-12-05T06:00:00.000Z',
  startedAt: '2026-12-05T06:00:00.000Z',
  finishedAt: null,
};

describe('Docker ↔ Hearth translation', () => {
  it('maps the docker run options Hearth has onto its create body', () => {
    const body = translateCreate(
      {
        Cmd: ['nginx', '-g', 'daemon off;'],
        Env: ['A=1', 'B=x=y', 'UNSET'],
        Labels: { tier: 'web' },
        StopSignal: 'SIGQUIT',
        StopTimeout: 3,
        Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 5e9, Retries: 2 },
        HostConfig: {
          PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] },
          Binds: ['data:/var/lib/data:ro'],
          RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 },
          Memory: 300 * 2 ** 20,
          NanoCpus: 1.5e9,
          NetworkMode: 'default',
        },
      },
      'web',
    );
    expect(body).toEqual({
      name: 'web',
      pull: 'never',
      start: false,
      command: ['nginx', '-g', 'daemon off;'],
      env: { A: '1', B: 'x=y' },
      labels: { tier: 'web' },
      ports: [{ host: 8080, container: 80, protocol: 'tcp' }],
      volumes: [{ source: 'data', target: '/var/lib/data', readOnly: true }],
      restart: 'on-failure:3',
      memoryMib: 300,
      vcpus: 2,
      healthcheck: { cmd: 'true', interval: '5000ms', retries: 2 },
      stopSignal: 'SIGQUIT',
      stopGraceSeconds: 3,
    });
  });

  it('words ages and states as docker ps does', () => {
    expect(humanDuration(500)).toBe('Less than a second');
    expect(humanDuration(45_000)).toBe('45 seconds');
    expect(humanDuration(90_000)).toBe('About a minute');
    expect(humanDuration(5 * 60_000)).toBe('5 minutes');
    expect(humanDuration(3 * 3600_000)).toBe('3 hours');
    const now = Date.parse('2026-12-05T06:05:00.000Z');
    expect(statusText({ ...base, health: 'healthy' }, now)).toBe('Up 5 minutes (healthy)');
    expect(
      statusText({ ...base, state: 'exited', exitCode: 1, finishedAt: '2026-12-05T06:03:00.000Z' }, now),
    ).toBe('Exited (1) 2 minutes ago');
    expect(statusText({ ...base, state: 'exited', startedAt: null }, now)).toBe('Created');
  });

  it('frames multiplexed output with the stream id and a big-endian length', () => {
    expect([...frame(2, 'hi\n')]).toEqual([2, 0, 0, 0, 0, 0, 0, 3, 104, 105, 10]);
  });

  it('quotes every word of a TTY exec command line', () => {
    expect(ttyCommand(['sh', '-c', "echo 'a  b'"], { X: 'y z' }, '/srv')).toBe(
      `cd '/srv' && exec env 'X=y z' 'sh' '-c' 'echo '\\''a  b'\\'''`,
    );
  });
});
