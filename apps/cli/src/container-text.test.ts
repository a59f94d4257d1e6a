import { describe, expect, it } from 'vitest';
import type { Container } from '@hearth/contract';
import { commandText, containerStatus, humanDuration, portsText } from './container-text.ts';
import { freeSubnet } from './commands/compose-up.ts';

const NOW = Date.parse('2026-12-05T12:00:00Z');
const ago = (ms: number) => new Date(NOW - ms).toISOString();

function container(over: Partial<Container>): Container {
  return {
    id: 'ctr_x',
    name: 'web',
    project: 'default',
    image: 'nginx',
    imageId: 'img_x',
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
    vm: 'vm_x',
    host: null,
    ip: null,
    createdAt: ago(600_000),
    startedAt: ago(180_000),
    finishedAt: null,
    ...over,
  };
}

describe('ps as Docker prints it', () => {
  it('says durations as go-units does', () => {
    expect(humanDuration(400)).toBe('Less than a second');
    expect(humanDuration(1000)).toBe('1 second');
    expect(humanDuration(45_000)).toBe('45 seconds');
    expect(humanDuration(70_000)).toBe('About a minute');
    expect(humanDuration(180_000)).toBe('3 minutes');
    expect(humanDuration(3_600_000)).toBe('About an hour');
    expect(humanDuration(5 * 3_600_000)).toBe('5 hours');
    expect(humanDuration(3 * 86_400_000)).toBe('3 days');
    expect(humanDuration(21 * 86_400_000)).toBe('3 weeks');
    expect(humanDuration(90 * 86_400_000)).toBe('3 months');
    expect(humanDuration(800 * 86_400_000)).toBe('2 years');
  });

  it('writes the STATUS column with the health, the exit code and when', () => {
    expect(containerStatus(container({}), NOW)).toBe('Up 3 minutes');
    expect(containerStatus(container({ health: 'healthy' }), NOW)).toBe('Up 3 minutes (healthy)');
    expect(containerStatus(container({ health: 'starting' }), NOW)).toBe('Up 3 minutes (health: starting)');
    expect(containerStatus(container({ state: 'paused' }), NOW)).toBe('Up 3 minutes (Paused)');
    expect(containerStatus(container({ state: 'exited', exitCode: 1, finishedAt: ago(120_000) }), NOW)).toBe(
      'Exited (1) 2 minutes ago',
    );
    expect(containerStatus(container({ state: 'exited', startedAt: null }), NOW)).toBe('Created');
    expect(
      containerStatus(container({ state: 'pulling', pull: { percent: 42.4, message: 'layers' } }), NOW),
    ).toBe('Pulling (42%)');
    expect(containerStatus(container({ state: 'failed', stateReason: 'oom\nlast lines' }), NOW)).toBe(
      'Failed: oom',
    );
  });

  it('writes PORTS and a cut COMMAND', () => {
    const c = container({
      ports: [
        { host: 8080, container: 80, protocol: 'tcp' },
        { host: 5353, container: 53, protocol: 'udp' },
      ],
      entrypoint: ['/docker-entrypoint.sh'],
      command: ['nginx', '-g', 'daemon off;'],
    });
    expect(portsText(c)).toBe('0.0.0.0:8080->80/tcp, 0.0.0.0:5353->53/udp');
    expect(commandText(c)).toBe('"/docker-entrypoint.…"');
    expect(commandText(container({ command: ['sleep', '1'] }))).toBe('"sleep 1"');
  });
});

describe('compose networks', () => {
  it('take the first /24 under 10.213.0.0/16 that no network overlaps', () => {
    expect(freeSubnet([])).toBe('10.213.0.0/24');
    expect(freeSubnet(['10.213.0.0/24', '10.213.1.0/24', '192.168.0.0/16'])).toBe('10.213.2.0/24');
    expect(freeSubnet(['10.213.0.0/23'])).toBe('10.213.2.0/24');
    expect(() => freeSubnet(['10.0.0.0/8'])).toThrow(/No free \/24/);
  });
});
