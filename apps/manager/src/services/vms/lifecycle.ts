import { actionRule, HearthError, type Vm, type VmAction } from '@hearth/contract';
import { vmFromRow, type VmRow } from '../../store/mappers.ts';
import { agentSpecFor } from './agent-spec.ts';
import { bootProfileOf, markAccept, startBootClock, type BootClock } from './boot-profile.ts';
import { assertHostReachable, hostOf, type VmContext } from './context.ts';
import { learnDhcpAddresses } from './dhcp.ts';
import { catchUpNetPolicy } from './update.ts';
import { applyAgentStatus, failVm, moveVm } from './transitions.ts';

const ACTING: Record<Exclude<VmAction, 'delete'>, string> = {
  start: 'Starting',
  stop: 'Stopping',
  restart: 'Restarting',
  pause: 'Pausing',
  resume: 'Resuming',
  restore: 'Restoring',
};
const cap = (s: string) => s[0]!.toUpperCase() + s.slice(1);

/** Start, stop, restart, pause or resume: the record moves now, the agent call runs in the background. */
export async function runVerb(
  ctx: VmContext,
  idOrName: string,
  project: string,
  action: Exclude<VmAction, 'delete'>,
  actor: string,
  opts: { force?: boolean | undefined; timeoutSeconds?: number | undefined } = {},
): Promise<Vm> {
  const row = await ctx.stores.vms.require(idOrName, project);
  const rule = actionRule(action);
  if (!rule.from.includes(row.state)) {
    throw new HearthError('VM_INVALID_STATE', `Cannot ${action} VM "${row.name}": it is ${row.state}.`, {
      detail: { state: row.state, action, allowedFrom: rule.from },
    });
  }
  await assertHostReachable(ctx, row, `${ACTING[action]} VM "${row.name}"`);
  const desired = action === 'stop' ? 'stopped' : action === 'pause' ? 'paused' : 'running';
  const moved = await moveVm(ctx, row, rule.enters, actor, { desiredState: desired, reason: null });
  if (!moved)
    throw new HearthError('VM_BUSY', `Cannot ${action} VM "${row.name}": it changed state meanwhile.`);
  const clock = startBootClock(action === 'restart' ? 'restart' : 'cold');
  const force = opts.force ?? false;
  const timeoutMs = (opts.timeoutSeconds ?? 30) * 1000;
  ctx.operations.track(row.id, async () => {
    const host = await hostOf(ctx, moved);
    try {
      if (action === 'start') return void (await runStart(ctx, moved, actor, clock));
      if (action === 'pause')
        return void (await applyAgentStatus(ctx, moved, await ctx.agents.pause(host, row.id), actor));
      if (action === 'resume')
        return void (await applyAgentStatus(ctx, moved, await ctx.agents.resume(host, row.id), actor));
      const status = await ctx.agents.stop(host, row.id, force, timeoutMs);
      const stopped = await applyAgentStatus(ctx, moved, status, actor);
      if (action === 'restart' && stopped?.state === 'stopped') {
        const starting = await moveVm(ctx, stopped, 'starting', actor, { reason: 'restart' });
        if (starting) await runStart(ctx, starting, actor, clock);
      }
    } catch (e) {
      const current = await ctx.stores.vms.getUnscoped(row.id);
      if (current && current.state === moved.state)
        await failVm(ctx, current, actor, `${cap(action)} failed`, e);
    }
  });
  return vmFromRow(moved);
}

/** The agent call of a boot, and what follows a successful one (late network settings, DHCP). */
export async function runStart(
  ctx: VmContext,
  row: VmRow,
  actor: string,
  clock: BootClock = startBootClock('cold'),
): Promise<void> {
  try {
    const spec = await agentSpecFor(ctx, row);
    const host = await hostOf(ctx, row);
    markAccept(clock);
    const status = await ctx.agents.start(host, spec);
    const profile = status.phase === 'running' ? bootProfileOf(clock, status) : undefined;
    const out = await applyAgentStatus(ctx, row, status, actor, profile);
    if (out?.state === 'running') {
      await catchUpNetPolicy(ctx, out, spec);
      void learnDhcpAddresses(ctx, out);
    }
    if (!out && status.phase === 'starting') ctx.log.warn({ vm: row.id }, 'agent still starting the VM');
  } catch (e) {
    await failVm(ctx, row, actor, 'Starting the VM failed', e);
  }
}

export async function deleteVm(
  ctx: VmContext,
  idOrName: string,
  project: string,
  actor: string,
): Promise<Vm> {
  const row = await ctx.stores.vms.require(idOrName, project);
  if (
    !actionRule('delete').from.includes(row.state) &&
    !(row.state === 'deleting' && !ctx.operations.has(row.id))
  ) {
    throw new HearthError('VM_INVALID_STATE', `Cannot delete VM "${row.name}": it is ${row.state}.`, {
      detail: { state: row.state, action: 'delete', allowedFrom: actionRule('delete').from },
    });
  }
  await assertHostReachable(ctx, row, `Deleting VM "${row.name}"`);
  const moved =
    row.state === 'deleting' ? row : await moveVm(ctx, row, 'deleting', actor, { desiredState: 'deleted' });
  if (!moved) throw new HearthError('VM_BUSY', `Cannot delete VM "${row.name}": it changed state meanwhile.`);
  // An operation still in flight (a boot, say) finishes first, so the agent never boots a VM
  // after it was deleted.
  const inFlight = ctx.operations.current(row.id);
  ctx.operations.track(row.id, async () => {
    await inFlight?.catch(() => undefined);
    await runDelete(ctx, moved, actor);
  });
  return vmFromRow(moved);
}

/** The agent removes the VM from its host; then its records go. */
export async function runDelete(ctx: VmContext, row: VmRow, actor: string): Promise<void> {
  try {
    if (row.host_id) await ctx.agents.delete(await hostOf(ctx, row), row.id);
    await ctx.stores.vms.remove(row.id);
    await ctx.stores.snapshots.detachVm(row.id);
    await ctx.stores.volumes.detachAll(row.id);
    ctx.bus.gone(row.id, row.project);
    ctx.log.info({ vm: row.id, actor }, 'VM deleted');
  } catch (e) {
    await failVm(ctx, row, actor, 'Deleting the VM failed', e);
  }
}
