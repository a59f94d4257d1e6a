import { describe, expect, it, vi } from 'vitest';
import { FunctionConfig, HearthError } from '@hearth/contract';
import pino from 'pino';
import { FunctionPool } from './instances.ts';
import type { BuildDeps } from './build.ts';

// The pool's rules without VMs: restores are stand-ins that finish when the test says so.
const shims = vi.hoisted(() => ({ closed: 0 }));
vi.mock('./build.ts', () => ({
  FUNCTION_LABEL: 'hearth.function',
  runningGuest: (_deps: unknown, vmId: string) => Promise.resolve({ host: { id: 'h' }, vmId }),
  shimReady: () => Promise.resolve({ close: () => void shims.closed++ }),
}));

function harness(over: Partial<FunctionConfig> = {}) {
  const config = FunctionConfig.parse({ maxInstances: 2, concurrency: 1, queue: 2, idleS: 60, ...over });
  let n = 0;
  const restores: (() => void)[] = [];
  const deleted: string[] = [];
  const deps = {
    log: pino({ level: 'silent' }),
    stores: { snapshots: { requireUnscoped: () => Promise.resolve({ id: 'snap' }) } },
    vms: {
      createFromSnapshot: () => new Promise((resolve) => restores.push(() => resolve({ id: `vm${++n}` }))),
      delete: (id: string) => {
        deleted.push(id);
        return Promise.resolve();
      },
    },
  } as unknown as BuildDeps;
  const pool = new FunctionPool(deps, { id: 'fn1', name: 'f', project: 'p', config: () => config });
  const flush = () => new Promise((r) => setTimeout(r, 0));
  const restoreAll = async () => {
    await flush();
    while (restores.length) restores.shift()!();
    await flush();
    await flush();
  };
  shims.closed = 0;
  return {
    pool,
    restores,
    deleted,
    restoreAll,
    config,
    get closed() {
      return shims.closed;
    },
  };
}

describe('FunctionPool', () => {
  it('restores on demand, reuses a warm instance, and says which call was cold', async () => {
    const h = harness();
    const first = h.pool.acquire(1, 'snap');
    await h.restoreAll();
    const a = await first;
    expect(a.cold).toBe(true);
    h.pool.release(a.inst);
    const b = await h.pool.acquire(1, 'snap');
    expect(b.cold).toBe(false);
    expect(b.inst).toBe(a.inst);
    expect(h.pool.instances).toHaveLength(1);
  });

  it('scales out to maxInstances, queues beyond, refuses past the queue with 429 and Retry-After', async () => {
    const h = harness({ maxInstances: 2, concurrency: 1, queue: 2 });
    const calls = [1, 2, 3, 4].map(() => h.pool.acquire(1, 'snap'));
    await h.restoreAll();
    const refused = await h.pool.acquire(1, 'snap').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(HearthError);
    expect((refused as HearthError).code).toBe('FUNCTION_THROTTLED');
    expect((refused as HearthError).status).toBe(429);
    expect((refused as HearthError).retryAfterS).toBe(1);
    const [a, b] = await Promise.all(calls.slice(0, 2));
    expect(h.pool.instances).toHaveLength(2);
    expect(a!.inst).not.toBe(b!.inst);
    // The queued ones get the slots as they free up, nothing lost.
    h.pool.release(a!.inst);
    h.pool.release(b!.inst);
    const [c, d] = await Promise.all(calls.slice(2));
    expect([c!.cold, d!.cold]).toEqual([false, false]);
    expect(h.pool.instances).toHaveLength(2);
  });

  it('serves `concurrency` invocations per instance before restoring another', async () => {
    const h = harness({ maxInstances: 3, concurrency: 3, queue: 0 });
    const calls = [1, 2, 3].map(() => h.pool.acquire(1, 'snap'));
    await h.restoreAll();
    const leases = await Promise.all(calls);
    expect(new Set(leases.map((l) => l.inst)).size).toBe(1);
    expect(h.pool.instances[0]!.inflight).toBe(3);
  });

  it('stops idle instances down to minInstances, and instances of a version no longer live', async () => {
    const h = harness({ idleS: 1, minInstances: 0 });
    const p1 = h.pool.acquire(1, 'snap');
    await h.restoreAll();
    const l = await p1;
    h.pool.release(l.inst);
    h.pool.sweep(1);
    expect(h.pool.instances).toHaveLength(1);
    l.inst.lastUsed = Date.now() - 5000;
    h.pool.sweep(1);
    expect(h.pool.instances).toHaveLength(0);
    expect(h.deleted).toEqual(['vm1']);

    const p2 = h.pool.acquire(1, 'snap');
    await h.restoreAll();
    h.pool.release((await p2).inst);
    h.pool.sweep(2);
    expect(h.pool.instances).toHaveLength(0);
  });

  it('recycles a misbehaving instance once, closing its shim stream; the next call restores a new one', async () => {
    const h = harness({ concurrency: 2 });
    const p1 = h.pool.acquire(1, 'snap');
    await h.restoreAll();
    const l = await p1;
    const other = await h.pool.acquire(1, 'snap');
    expect(other.inst).toBe(l.inst);
    h.pool.recycle(l.inst, 'timed out');
    // The other call on it failed with it and recycles it too: nothing more is removed.
    h.pool.recycle(other.inst, 'invocation failed');
    expect(h.deleted).toEqual(['vm1']);
    expect(h.closed).toBe(1);
    const p2 = h.pool.acquire(1, 'snap');
    await h.restoreAll();
    expect((await p2).cold).toBe(true);
  });
});
