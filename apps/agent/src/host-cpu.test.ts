import { describe, expect, it } from 'vitest';
import { HostCpu, busyPercent, parseProcStat } from './host-cpu.ts';

const stat = (user: number, idle: number, iowait = 0) =>
  `cpu  ${user} 0 0 ${idle} ${iowait} 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\nintr 1 2\n`;

describe('host CPU use', () => {
  it('reads the all-CPU line, with iowait counted as idle', () => {
    expect(parseProcStat(stat(300, 600, 100))).toEqual({ busy: 300, total: 1000 });
    expect(parseProcStat('intr 1 2\n')).toBeNull();
    expect(parseProcStat('cpu  a b c d\n')).toBeNull();
  });

  it('is the busy share between two readings', () => {
    expect(busyPercent({ busy: 100, total: 1000 }, { busy: 400, total: 2000 })).toBe(30);
    expect(busyPercent({ busy: 100, total: 1000 }, { busy: 100, total: 1000 })).toBeNull();
    expect(busyPercent({ busy: 500, total: 1000 }, { busy: 100, total: 2000 })).toBeNull();
  });

  it('samples: nothing on the first call, then the use since the previous one', async () => {
    const cpu = new HostCpu();
    expect(await cpu.sample(async () => stat(100, 900))).toBeNull();
    expect(await cpu.sample(async () => stat(600, 1400))).toBe(50);
    expect(await cpu.sample(async () => Promise.reject(new Error('no /proc')))).toBeNull();
  });

  it('reads this machine', async () => {
    const cpu = new HostCpu();
    await cpu.sample();
    let x = 0;
    for (let i = 0; i < 2e6; i++) x += i;
    expect(x).toBeGreaterThan(0);
    const p = await cpu.sample();
    expect(p === null || (p >= 0 && p <= 100)).toBe(true);
  });
});
