import { HearthError, type Host, type HostDrain } from '@hearth/contract';
import { hostFromRow } from '../../store/mappers.ts';
import type { VmContext } from './context.ts';
import { drainOne } from './drain-vm.ts';

/** Hosts being drained by this manager. */
const draining = new Map<string, Promise<void>>();

/** States a drain leaves alone: nothing to move (being deleted) or nothing on the host to move. */
const SKIP = new Set(['deleting', 'deleted', 'lost']);

/**
 * Cordons the host (no new placements) and moves every VM off it, one at a time, each as its
 * drain policy says (drain-vm.ts): live where it can, else stopped, moved cold (and started again).
 * A VM that cannot move (no room elsewhere, a failed move) is recorded `failed`
 * with why, one whose policy is `stay` `skipped`, and the drain goes on with the next. Answers at
 * once; progress is the host's `drain` and VM events.
 */
export async function drainHost(ctx: VmContext, idOrName: string, actor: string): Promise<Host> {
  const host = await ctx.stores.hosts.require(idOrName);
  if (draining.has(host.id))
    throw new HearthError('MIGRATION_IN_PROGRESS', `Host ${host.name} is being drained already.`);
  await ctx.stores.hostFailure.setCordon(host.id, true);
  const rows = (await ctx.stores.vms.onHost(host.id)).filter((r) => !SKIP.has(r.state));
  const drain: HostDrain = {
    status: 'draining',
    startedAt: new Date().toISOString(),
    finishedAt: null,
    vms: rows.map((r) => ({ vm: r.id, name: r.name, mode: null, status: 'pending', to: null, reason: null })),
  };
  await ctx.stores.hosts.setDrain(host.id, drain);
  const save = () => ctx.stores.hosts.setDrain(host.id, drain);
  const run = (async () => {
    for (const item of drain.vms) {
      item.status = 'moving';
      await save();
      try {
        await drainOne(ctx, item, actor);
      } catch (e) {
        item.status = 'failed';
        item.reason = (e as Error).message;
      }
      await save();
    }
    // A VM left on the host (failed, or skipped by its policy) means the host is not empty.
    drain.status = drain.vms.some((v) => v.status === 'failed' || v.status === 'skipped') ? 'failed' : 'done';
    drain.finishedAt = new Date().toISOString();
    await save();
    ctx.log.info({ host: host.name, vms: drain.vms.length, status: drain.status }, 'host drained');
  })()
    .catch((e: Error) => ctx.log.error({ host: host.name, err: e.message }, 'draining crashed'))
    .finally(() => draining.delete(host.id));
  draining.set(host.id, run);
  return hostFromRow(await ctx.stores.hosts.require(host.id));
}
