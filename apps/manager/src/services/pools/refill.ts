import { newId } from '@hearth/contract';
import type { PoolRow } from '../../store/pools.ts';
import type { PoolServiceDeps } from './pool-service.ts';
import { snapshotStep } from './snapshot-refill.ts';
import { poolBoot } from './spec.ts';

/** After a pool VM failed to boot, the pool waits this long before booting another. */
const BACKOFF_MS = 30_000;

export interface RefillState {
  /** Pool id → when it may boot again after a failure. */
  backoffUntil: Map<string, number>;
}

/**
 * One look at one pool: failed VMs are recorded (lastError) and removed, VMs beyond `size` are
 * removed, and one VM is booted (a `snapshot` pool: restored, see snapshot-refill.ts) when the
 * pool is short.
 *
 * The CPU budget: a refill boots only on a ready host where no VM at all is booting (a user's
 * create, another pool's refill), so there is at most one boot in flight per host from refills,
 * and a user's boot never competes with one that a refill starts after it. Boots are the
 * CPU-heavy part of a VM's life (under TCG a boot holds a core for seconds); the VMs already
 * waiting cost memory, not CPU. The manager has no load figure from hosts to go by.
 */
export async function refillPool(deps: PoolServiceDeps, state: RefillState, pool: PoolRow): Promise<void> {
  const { stores, vms, log } = deps;
  const waiting = await stores.pools.waiting(pool.project, pool.name);
  const failed = waiting.filter((v) => v.state === 'failed');
  for (const vm of failed) {
    await stores.pools.setError(pool.id, vm.state_reason ?? 'a pool VM failed to boot');
    state.backoffUntil.set(pool.id, Date.now() + BACKOFF_MS);
    await vms.delete(vm.id, pool.project, 'pool').catch(() => undefined);
  }
  const live = waiting.filter((v) => v.state !== 'failed' && v.state !== 'deleting');
  if (live.length > pool.size) {
    // The newest go first: the oldest are the most likely to be ready.
    for (const vm of live.slice(pool.size).reverse()) {
      await vms.delete(vm.id, pool.project, 'pool').catch(() => undefined);
    }
    return;
  }
  if (live.length === pool.size) {
    if (pool.last_error && live.some((v) => v.state === 'pooled')) await stores.pools.setError(pool.id, null);
    return;
  }
  if ((state.backoffUntil.get(pool.id) ?? 0) > Date.now()) return;
  const busy = await stores.pools.bootingHosts();
  const idle = (await stores.hosts.all()).filter((h) => h.state === 'ready' && !busy.has(h.id));
  const host = idle[0];
  if (!host) return;
  let vmId: string | null = null;
  try {
    if (pool.mode === 'snapshot' && (await snapshotStep(deps, pool, live, idle)) !== 'boot') return;
    // Inside: a template deleted since the pool was made is this pool's error, not a crash.
    const boot = await poolBoot(stores, pool.project, pool.spec);
    const vm = await vms.create(
      {
        ...boot,
        name: `${pool.name.slice(0, 55)}-${newId('vm').slice(-6)}`,
        project: pool.project,
        host: host.id,
        labels: { 'hearth.pool': pool.name },
        start: false,
      },
      pool.project,
      'pool',
    );
    vmId = vm.id;
    await stores.pools.adopt(vm.id, pool.name);
    await vms.action(vm.id, pool.project, 'start', 'pool');
    log.info({ pool: pool.name, vm: vm.id, host: host.name }, 'booting a VM for the pool');
  } catch (e) {
    const why = (e as Error).message;
    await stores.pools.setError(pool.id, why);
    state.backoffUntil.set(pool.id, Date.now() + BACKOFF_MS);
    log.warn({ pool: pool.name, err: why }, 'a pool refill could not boot a VM');
    if (vmId) await vms.delete(vmId, pool.project, 'pool').catch(() => undefined);
  }
}
