import { parseDuration } from '@hearth/contract';
import type { VmContext } from './context.ts';

/**
 * The one rule for a VM's auto-stop time: its `timeout` counted from when it (last) started;
 * none without a timeout or while it is not running.
 */
export function stopAtFor(timeout: string | null | undefined, startedAt: Date | string | null): Date | null {
  const durationMs = timeout ? parseDuration(timeout) : null;
  return durationMs && startedAt ? new Date(new Date(startedAt).getTime() + durationMs) : null;
}

/** Auto-stop for VMs whose `timeout` elapsed: `stop` runs the ordinary stop verb for each. */
export async function stopExpired(
  ctx: VmContext,
  stop: (vm: { id: string; project: string }) => Promise<unknown>,
): Promise<void> {
  for (const row of await ctx.stores.vms.expiredRunning()) {
    if (
      !ctx.operations.has(row.id) &&
      // A host that is away is not waited for here: the next tick after it is back stops the VM.
      (!row.host_id || ctx.agents.live.isLive(row.host_id))
    ) {
      await stop(row).catch((e: Error) => ctx.log.warn({ vm: row.id, err: e.message }, 'auto-stop failed'));
    }
  }
}
