import { HearthError, newId } from '@hearth/contract';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/index.ts';
import { hosts, snapshots, tokens, vmEvents, vms, volumes } from '../db/schema.ts';
import type { VmRow } from './mappers.ts';

export interface HostRemoval {
  id: string;
  name: string;
  /** The VMs marked `lost` (rows as they are now, to announce). */
  lost: VmRow[];
  forgottenVolumes: string[];
  forgottenSnapshots: string[];
}

/**
 * Removes a host's record and credentials in one transaction. A host that holds VMs, volumes or
 * snapshots is refused (HOST_NOT_EMPTY, with the counts) unless `force`: then its VMs become
 * `lost` (no host any more, so deleting one never calls the gone agent) and its volumes and
 * snapshots, whose files were on that host, are forgotten.
 */
export async function removeHostRecords(
  db: Db,
  hostId: string,
  force: boolean,
  actor: string,
): Promise<HostRemoval> {
  return db.orm.transaction(async (tx) => {
    // Serializes with registrations and placements that update the host row.
    const [host] = await tx.select().from(hosts).where(eq(hosts.id, hostId)).for('update');
    if (!host)
      throw new HearthError('HOST_NOT_FOUND', `Removing host ${hostId} failed: it is not registered.`);
    const onHost = await tx.select().from(vms).where(eq(vms.host_id, hostId));
    const vols = await tx.select({ id: volumes.id }).from(volumes).where(eq(volumes.host_id, hostId));
    const snaps = await tx.select({ id: snapshots.id }).from(snapshots).where(eq(snapshots.host_id, hostId));
    if (!force && (onHost.length || vols.length || snaps.length)) {
      const what = [
        onHost.length ? `${onHost.length} VM(s)` : '',
        vols.length ? `${vols.length} volume(s)` : '',
        snaps.length ? `${snaps.length} snapshot(s)` : '',
      ].filter(Boolean);
      throw new HearthError(
        'HOST_NOT_EMPTY',
        `Removing host ${host.name} failed: it holds ${what.join(', ')}.`,
        { detail: { vms: onHost.length, volumes: vols.length, snapshots: snaps.length } },
      );
    }
    const reason = `host ${host.name} was removed`;
    const lost: VmRow[] = [];
    for (const vm of onHost) {
      const [row] = await tx
        .update(vms)
        .set({ state: 'lost', host_id: null, pid: null, state_reason: reason, updated_at: sql`now()` })
        .where(eq(vms.id, vm.id))
        .returning();
      await tx.insert(vmEvents).values({
        id: newId('evt'),
        vm_id: vm.id,
        type: 'state',
        from_state: vm.state === 'lost' ? null : vm.state,
        to_state: 'lost',
        actor,
        reason,
      });
      lost.push(row as VmRow);
    }
    const volumeIds = vols.map((v) => v.id);
    const snapshotIds = snaps.map((s) => s.id);
    if (volumeIds.length) await tx.delete(volumes).where(inArray(volumes.id, volumeIds));
    if (snapshotIds.length) await tx.delete(snapshots).where(inArray(snapshots.id, snapshotIds));
    await tx.delete(tokens).where(and(eq(tokens.kind, 'agent'), eq(tokens.host_id, hostId)));
    await tx.delete(hosts).where(eq(hosts.id, hostId));
    return {
      id: host.id,
      name: host.name,
      lost,
      forgottenVolumes: volumeIds,
      forgottenSnapshots: snapshotIds,
    };
  });
}
