import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { GuestMetrics } from '@hearth/contract';
import { VmSampler } from './metrics.ts';
import type { Supervisor } from './vm/index.ts';

const metrics: GuestMetrics = {
  cpuPercent: 1,
  memory: { totalBytes: 100, availableBytes: 60, usedBytes: 40 },
  load: [0, 0, 0],
  processes: 3,
  uptimeSec: 10,
  disk: { path: '/', totalBytes: 1000, usedBytes: 10 },
  network: [{ name: 'eth0', rxBytes: 1, txBytes: 2 }],
  agentRssBytes: 1,
};

/** A supervisor whose VMs' guests answer at once, or with `hold` when the test calls their `held` entry. */
function fakeSupervisor(ids: string[], o: { hold?: boolean } = {}) {
  let inFlight = 0;
  let most = 0;
  const asked: string[] = [];
  const held: (() => void)[] = [];
  const sup = {
    runningVmIds: () => ids,
    guest: async (id: string) => ({
      request: async () => {
        asked.push(id);
        most = Math.max(most, ++inFlight);
        if (o.hold) await new Promise<void>((r) => held.push(r));
        inFlight--;
        return metrics;
      },
    }),
  } as unknown as Supervisor;
  return { sup, asked, held, most: () => most };
}

const log = pino({ level: 'silent' });

describe('VmSampler', () => {
  it('asks every running VM once per round, at most four at a time', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `vm-${i}`);
    const f = fakeSupervisor(ids, { hold: true });
    const s = new VmSampler(f.sup, log);
    const round = s.sampleAll();
    // Let the held requests go one by one as they arrive: the round must still ask everyone.
    while (f.asked.length < ids.length || f.held.length) {
      const next = f.held.shift();
      if (next) next();
      await new Promise((r) => setImmediate(r));
    }
    await round;
    expect([...f.asked].sort()).toEqual([...ids].sort());
    expect(f.most()).toBeLessThanOrEqual(4);
    expect(
      s
        .take()
        .map((x) => x.id)
        .sort(),
    ).toEqual([...ids].sort());
    s.dispose();
  });

  it('a guest that never answers does not hold up the others', async () => {
    const ids = ['stuck', 'a', 'b', 'c', 'd', 'e'];
    const f = fakeSupervisor(ids, { hold: true });
    const s = new VmSampler(f.sup, log);
    void s.sampleAll();
    // Answer everyone but the first guest.
    while (f.asked.length < ids.length || f.held.length > 1) {
      if (f.held.length > 1) f.held.splice(1, 1)[0]!();
      await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setImmediate(r));
    expect(
      s
        .take()
        .map((x) => x.id)
        .sort(),
    ).toEqual(['a', 'b', 'c', 'd', 'e']);
    s.dispose();
    f.held[0]!();
  });

  it('a spread-out round stops asking once disposed', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `vm-${i}`);
    const f = fakeSupervisor(ids);
    const s = new VmSampler(f.sup, log);
    // Rounds an hour apart: a spread round asks its first guest at once, the next 3 minutes later.
    s.start(3_600_000);
    const round = s.sampleAll(true);
    while (f.asked.length < 1) await new Promise((r) => setImmediate(r));
    s.dispose();
    await round;
    expect(f.asked).toEqual(['vm-0']);
  });
});
