import type { LastMigration } from '@hearth/contract';
import { vmFromRow, type HostRow, type VmRow } from '../../store/mappers.ts';
import type { MoveRow } from '../../store/moves.ts';
import type { VmContext } from './context.ts';
import { migrationEvent } from './migrate.ts';
import { removeCopy } from './move-leftovers.ts';
import { settleSnapshotCopies } from './move-snapshots.ts';

/** Moves being resolved now (the tick may come round again before one ends). */
const resolving = new Set<string>();

const gone = (h: HostRow | undefined | null) => !h || h.state === 'unreachable' || h.state === 'dead';

/**
 * Resolves every move whose manager replica is gone (killed mid-move). Each waits until both of
 * its hosts either report (`ready`) or are gone (unreachable, dead): after a manager restart every
 * host is offline until its next heartbeat, and a guess made before then could run a VM twice.
 */
export async function recoverMoves(ctx: VmContext, aliveMs: number): Promise<void> {
  for (const m of await ctx.stores.moves.orphaned(ctx.replica, aliveMs)) {
    if (resolving.has(m.vm_id) || ctx.operations.has(m.vm_id)) continue;
    resolving.add(m.vm_id);
    const release = ctx.operations.hold(m.vm_id);
    try {
      await recoverMove(ctx, m);
    } catch (e) {
      ctx.log.warn({ vm: m.vm_id, err: (e as Error).message }, 'resolving a move in flight failed; retried');
    } finally {
      release();
      resolving.delete(m.vm_id);
    }
  }
}

/**
 * One interrupted move: the record names the destination → the source copy goes; the destination
 * already continued the guest (it was told to after the source handed everything over) → the
 * record follows it and the paused source copy goes; otherwise the destination's waiting copy goes
 * and the source continues (a source paused for the last pass resumes). A host that is gone gets a
 * fence for its copy instead; a VM whose source is gone stays as host failure leaves it (unknown).
 */
async function recoverMove(ctx: VmContext, m: MoveRow): Promise<void> {
  const [from, to] = await Promise.all([ctx.stores.hosts.get(m.from_host), ctx.stores.hosts.get(m.to_host)]);
  const settled = (h: HostRow | undefined | null) => gone(h) || h!.state === 'ready';
  if (!settled(from) || !settled(to)) return;
  const row = await ctx.stores.vms.requireUnscoped(m.vm_id).catch(() => null);
  const log = ctx.log.child({ vm: m.vm_id, from: from?.name, to: to?.name, phase: m.phase });
  const say = (r: VmRow, text: string) => migrationEvent(ctx, r, 'system', `recovered: ${text}`);
  const why = 'a move interrupted by a manager restart';
  if (!row) {
    if (to) await removeCopy(ctx, to, m.vm_id, why, 'abort-incoming');
  } else if (row.host_id === m.to_host) {
    if (from) await removeCopy(ctx, from, m.vm_id, why);
    await say(
      row,
      `the move to ${to?.name ?? m.to_host} had finished; the copy on ${from?.name ?? m.from_host} is removed`,
    );
  } else {
    const st =
      to && !gone(to)
        ? await ctx.agents.call(to, 'vmStatus', { params: { id: m.vm_id } }).catch(() => null)
        : null;
    if (to && m.phase === 'handed-over' && st?.phase === 'running') {
      const lm: LastMigration = {
        from: m.from_host,
        to: m.to_host,
        mode: 'live',
        downtimeMs: null,
        qemuDowntimeMs: null,
        totalMs: 0,
        at: new Date().toISOString(),
      };
      const moved = await ctx.stores.vms.moveHost(m.vm_id, to.id, lm, st.pid ?? null);
      if (from) await removeCopy(ctx, from, m.vm_id, why);
      await say(
        row,
        `the guest already ran on ${to.name}; the record follows it, the paused copy on ${from?.name ?? m.from_host} is removed`,
      );
      if (moved) ctx.bus.publish(vmFromRow(moved));
    } else {
      const snapshot = m.mode === 'snapshot';
      if (to) await removeCopy(ctx, to, m.vm_id, why, snapshot ? 'abort-snapshot' : 'abort-incoming');
      // A source that handed everything over waits paused (a Firecracker one from its snapshot
      // on): it continues (a no-op otherwise).
      if (from && !gone(from) && m.mode !== 'cold')
        await ctx.agents
          .call(from, snapshot ? 'migrateSnapshotCancel' : 'migrateCancel', { params: { id: m.vm_id } })
          .catch((e: Error) => log.warn({ err: e.message }, 'continuing the source failed'));
      await say(
        row,
        gone(from)
          ? `the move to ${to?.name ?? m.to_host} was given up; its source ${from?.name ?? m.from_host} is gone, so the VM's state is as host failure leaves it`
          : `the move to ${to?.name ?? m.to_host} was given up; the VM stays on ${from!.name}`,
      );
    }
  }
  // Snapshots carried by a cold move keep the files where their records say; the other copy goes.
  if (m.mode === 'cold') await settleSnapshotCopies(ctx, m.vm_id, from, to);
  await ctx.stores.moves.end(m.vm_id);
  log.warn('a move interrupted by a manager restart was resolved');
}
