import { newId } from '@hearth/contract';
import type { HostRow, VmRow } from '../../store/mappers.ts';
import type { PoolRow } from '../../store/pools.ts';
import type { PoolServiceDeps } from './pool-service.ts';
import { poolBoot } from './spec.ts';

/** What a `snapshot` pool's refill did: acted, must wait (a boot or a busy host), or boots its first VM. */
export type SnapshotStep = 'done' | 'wait' | 'boot';

/**
 * One refill step of a short `snapshot` pool, on `idle` hosts (ready, nothing booting there):
 * without a snapshot, its first VM boots from the spec ('boot': the caller boots it as a `booted`
 * pool would), and once that VM waits in the pool it is snapshotted and stays in the pool; with
 * one, a VM is restored from it on the snapshot's host. A restore counts as a boot for the CPU
 * budget (the VM is `starting` until its guest answered), so it waits for that host to be idle.
 */
export async function snapshotStep(
  deps: PoolServiceDeps,
  pool: PoolRow,
  live: VmRow[],
  idle: HostRow[],
): Promise<SnapshotStep> {
  const { stores, vms, snapshots, log } = deps;
  const snap = pool.snapshot_id ? await stores.snapshots.get(pool.snapshot_id, pool.project) : null;
  if (!snap || snap.state !== 'ready') {
    // Never taken, or deleted by a user since: the next VM waiting in the pool is snapshotted.
    if (pool.snapshot_id) await stores.pools.setSnapshot(pool.id, null);
    const source = live.find((v) => v.state === 'pooled' && idle.some((h) => h.id === v.host_id));
    if (!source) return live.length ? 'wait' : 'boot';
    const name = `pool-${pool.name.slice(0, 48)}-${newId('snap').slice(-6)}`;
    const taken = await stores.pools.hold(source.id, () => snapshots.take(source, name, 'pool'));
    if (!taken) return 'done'; // handed out meanwhile
    const now = await stores.pools.getUnscoped(pool.id);
    if (!now || JSON.stringify(now.spec) !== JSON.stringify(pool.spec)) {
      // The pool went, or its spec changed, while the snapshot was being taken: it is stale.
      await snapshots.delete(taken.id, pool.project);
      return 'done';
    }
    await stores.pools.setSnapshot(pool.id, taken.id);
    log.info(
      { pool: pool.name, vm: source.id, snapshot: taken.id },
      'snapshotted the pool VM to restore from',
    );
    return 'done';
  }
  const host = idle.find((h) => h.id === snap.host_id);
  if (!host) return 'wait';
  const boot = await poolBoot(stores, pool.project, pool.spec);
  const vm = await vms.createFromSnapshot(
    snap,
    {
      name: `${pool.name.slice(0, 55)}-${newId('vm').slice(-6)}`,
      project: pool.project,
      labels: { 'hearth.pool': pool.name },
      pool: pool.name,
      egress: (boot.egress ?? null) as VmRow['egress'],
      bandwidthMbit: boot.bandwidthMbit ?? null,
    },
    'pool',
  );
  log.info({ pool: pool.name, vm: vm.id, snapshot: snap.id }, 'restoring a VM for the pool');
  return 'done';
}
