import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Vm } from '@hearth/contract';
import { VmBus } from '../bus.ts';
import { PoolService, type PoolServiceDeps } from './pool-service.ts';

/** A pool service whose refill passes only count themselves (no pools recorded). */
function service() {
  const bus = new VmBus();
  let passes = 0;
  const deps = {
    stores: {
      pools: {
        all: async () => {
          passes++;
          return [];
        },
      },
    },
    bus,
    log: pino({ level: 'silent' }),
    intervalMs: 3_600_000,
  } as unknown as PoolServiceDeps;
  const pools = new PoolService(deps);
  const vm = (state: Vm['state']) => ({ id: 'vm_1', pool: 'p', state }) as Vm;
  return { bus, pools, vm, passes: () => passes };
}

describe('the refill loop and hand-outs', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits for a burst of hand-outs to end before refilling, and runs once it has', async () => {
    const s = service();
    s.pools.start();
    await s.pools.idle();
    const before = s.passes();
    // A hand-out: a pool VM goes from pooled to running.
    s.bus.publish(s.vm('running'), 'pooled');
    await s.pools.idle();
    expect(s.passes()).toBe(before);
    await vi.advanceTimersByTimeAsync(500);
    s.bus.publish(s.vm('running'), 'pooled');
    await vi.advanceTimersByTimeAsync(900);
    await s.pools.idle();
    expect(s.passes()).toBe(before);
    await vi.advanceTimersByTimeAsync(200);
    await s.pools.idle();
    expect(s.passes()).toBe(before + 1);
    await s.pools.dispose();
  });

  it('refills during a steady stream of hand-outs once the wait reached its bound', async () => {
    const s = service();
    s.pools.start();
    await s.pools.idle();
    const before = s.passes();
    for (let i = 0; i < 12; i++) {
      s.bus.publish(s.vm('running'), 'pooled');
      await vi.advanceTimersByTimeAsync(500);
    }
    await s.pools.idle();
    expect(s.passes()).toBeGreaterThan(before);
    await s.pools.dispose();
  });

  it('refills at once on other changes to pool VMs', async () => {
    const s = service();
    s.pools.start();
    await s.pools.idle();
    const before = s.passes();
    s.bus.publish(s.vm('failed'), 'starting');
    await s.pools.idle();
    expect(s.passes()).toBe(before + 1);
    await s.pools.dispose();
  });
});
