import { HearthError } from '@hearth/contract';
import type { HostRow, VmRow } from '../../store/mappers.ts';
import type { VmContext } from './context.ts';

/**
 * Removes a copy of the VM from a host it no longer belongs on (a move's source once the record
 * names the destination, or a destination's copy of a move given up). A host that cannot be
 * reached gets a fence instead: its agent destroys the copy when it reports again (the heartbeat
 * path of host-failure.ts), so the VM never runs on two hosts.
 */
export async function removeCopy(
  ctx: VmContext,
  host: HostRow,
  vmId: string,
  why: string,
  how: 'delete' | 'abort-incoming' | 'abort-snapshot' = 'delete',
): Promise<boolean> {
  try {
    if (how === 'abort-incoming')
      await ctx.agents.call(host, 'migrateAbortIncoming', { params: { id: vmId } });
    // A Firecracker move's destination: the received files and any VM restored from them.
    else if (how === 'abort-snapshot')
      await ctx.agents.call(host, 'migrateSnapshotAbort', { params: { id: vmId } });
    else await ctx.agents.delete(host, vmId);
  } catch (e) {
    ctx.log.warn(
      { vm: vmId, host: host.name, err: (e as Error).message },
      'removing a copy left by a move failed: fenced, removed when the host reports again',
    );
    await ctx.stores.hostFailure.fence(host.id, vmId, `left by a move: ${why}`);
    return false;
  }
  await removeVolumeCopies(ctx, host, vmId);
  return true;
}

/**
 * The VM's volume files on a host their records do not name (a cold move copied them there, or
 * away from there). Only data nobody uses is removed: the copy a record names is never touched. A
 * failure leaves a stray file (logged), never a second user of the volume.
 */
async function removeVolumeCopies(ctx: VmContext, host: HostRow, vmId: string): Promise<void> {
  for (const v of await ctx.stores.volumes.forVm(vmId)) {
    if (v.host_id === host.id) continue;
    await ctx.agents
      .call(host, 'deleteVolume', { params: { id: v.id } })
      .catch((e: Error) =>
        ctx.log.warn(
          { vm: vmId, volume: v.id, host: host.name, err: e.message },
          'removing a volume file left by a move failed',
        ),
      );
  }
}

/** A host that still holds a copy of this VM waiting to be removed cannot receive it again yet. */
export async function refuseFencedTarget(ctx: VmContext, row: VmRow, to: HostRow): Promise<void> {
  const fenced = (await ctx.stores.hostFailure.fences(to.id)).find((f) => f.vm_id === row.id);
  if (!fenced) return;
  throw new HearthError(
    'MIGRATION_FAILED',
    `Migrating VM "${row.name}" to ${to.name} failed: that host still holds a copy of it (${fenced.reason}), removed when its agent reports again.`,
    { detail: { to: to.name } },
  );
}
