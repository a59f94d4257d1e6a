import type { AgentVmStatus, VmState } from '@hearth/contract';
import { vmFromRow, type VmRow } from '../../store/mappers.ts';
import { hostOf, RESTORING, type VmContext } from './context.ts';
import { runDelete, runStart } from './lifecycle.ts';
import { runRestore } from './restore.ts';
import { recordAppStatus } from './app-status.ts';
import { stopAtFor } from './timeouts.ts';
import { applyAgentStatus, failVm, moveVm } from './transitions.ts';
import { timings } from '../metrics/timings.ts';

/** States an operation passes through; one left with no operation in flight was interrupted. */
const TRANSITIONAL = ['starting', 'stopping', 'pausing', 'resuming'];

/** States in which a VM its host does not report needs nothing (a heartbeat does not read them). */
const RESTING: readonly VmState[] = ['created', 'stopped', 'failed'];

/**
 * Brings the records in line with what an agent observes. `complete` lists are heartbeats
 * (a VM missing from it is gone from the host); pushes only carry what changed.
 */
export async function reconcileHost(
  ctx: VmContext,
  hostId: string,
  statuses: AgentVmStatus[],
  complete: boolean,
  receivedAt?: number,
): Promise<void> {
  const t0 = performance.now();
  try {
    await reconcileReport(ctx, hostId, statuses, complete, receivedAt ?? t0);
  } finally {
    timings.emit('reconcile', complete ? 'heartbeat' : 'push', (performance.now() - t0) / 1000);
  }
}

async function reconcileReport(
  ctx: VmContext,
  hostId: string,
  statuses: AgentVmStatus[],
  complete: boolean,
  receivedAt: number,
): Promise<void> {
  const byId = latestPerVm(statuses);
  const rows = complete
    ? await ctx.stores.vms.toReconcile(hostId, [...byId.keys()], RESTING)
    : await Promise.all([...byId.keys()].map((id) => ctx.stores.vms.getUnscoped(id)));
  const waitedMs = performance.now() - receivedAt;
  // Operations another manager replica is running are that replica's to finish.
  const elsewhere = (await ctx.operations.shared?.elsewhere().catch(() => null)) ?? new Set<string>();
  for (const row of rows) {
    if (!row || row.host_id !== hostId) continue;
    const status = byId.get(row.id);
    // The app's status is the guest's news, recorded even while an operation runs (a boot).
    if (status?.app !== undefined || status?.appEvents?.length) {
      await recordAppStatus(ctx, row, status.app, status.appEvents).catch((e: unknown) =>
        ctx.log.error({ vm: row.id, err: e }, 'recording the app status failed'),
      );
    }
    if (ctx.operations.has(row.id) || elsewhere.has(row.id)) continue;
    // A heartbeat assembled before a just-finished operation must not undo it (age by the DB's clock).
    if (complete && row.age_ms !== undefined && newerThanReport(Number(row.age_ms), waitedMs)) continue;
    try {
      await reconcileVm(ctx, row, status, complete);
    } catch (e) {
      ctx.log.error({ vm: row.id, err: e }, 'reconciling a VM failed');
    }
  }
}

/** Time an agent's report may take from its assembly to the manager (the agent's side and the trip). */
const REPORT_TRAVEL_MS = 2000;

/**
 * Whether a record changed after the report was assembled: within the trip's allowance plus the
 * time the report then waited in this manager before the records were read (a busy manager takes
 * seconds; a VM started meanwhile is absent from the report without being gone).
 */
export function newerThanReport(ageMs: number, waitedMs: number): boolean {
  return ageMs < REPORT_TRAVEL_MS + Math.max(0, waitedMs);
}

/**
 * One status per VM: the last one, carrying every app event message of the batch in order. A
 * batch holds several pushes for one VM when earlier sends waited (a restart's message, then
 * `running` again): keeping only the last push would lose the earlier messages.
 */
function latestPerVm(statuses: AgentVmStatus[]): Map<string, AgentVmStatus> {
  const byId = new Map<string, AgentVmStatus>();
  for (const s of statuses) {
    const prev = byId.get(s.id);
    if (!prev) {
      byId.set(s.id, s);
      continue;
    }
    const appEvents = [...(prev.appEvents ?? []), ...(s.appEvents ?? [])];
    byId.set(s.id, {
      ...s,
      // `app` absent means unchanged since the previous push.
      ...(s.app === undefined && prev.app !== undefined ? { app: prev.app } : {}),
      ...(appEvents.length ? { appEvents } : {}),
    });
  }
  return byId;
}

async function reconcileVm(
  ctx: VmContext,
  row: VmRow,
  status: AgentVmStatus | undefined,
  complete: boolean,
): Promise<void> {
  // A transitional state with no operation in flight was interrupted (manager restart): drive it again.
  if (row.state === 'deleting') {
    ctx.operations.track(row.id, () => runDelete(ctx, row, 'reconciler'));
    return;
  }
  if (complete && TRANSITIONAL.includes(row.state)) {
    resumeInterrupted(ctx, row);
    return;
  }
  if (!status || status.phase === 'absent') {
    if (!complete || RESTING.includes(row.state)) return;
    const reason =
      row.state === 'creating'
        ? 'creation was interrupted (manager restart); start it again'
        : 'the host no longer has this VM (host restarted or VM removed outside Hearth)';
    await moveVm(ctx, row, 'failed', 'reconciler', { reason, pid: null, startedAt: null });
    return;
  }
  const same =
    (status.phase === 'running' && (row.state === 'running' || row.state === 'pooled')) ||
    (status.phase === 'paused' && row.state === 'paused') ||
    (status.phase === 'stopped' && row.state === 'stopped') ||
    (status.phase === 'failed' && row.state === 'failed');
  if (
    same &&
    status.phase === 'running' &&
    status.pid !== null &&
    row.pid !== null &&
    status.pid !== row.pid
  ) {
    // Same state, new VMM process: the guest rebooted and the agent booted it again.
    const startedAt = status.startedAt ? new Date(status.startedAt) : new Date();
    const updated = await ctx.stores.vms.recordReboot(
      row.id,
      row.pid,
      status.pid,
      startedAt,
      stopAtFor(row.timeout, startedAt),
    );
    if (updated) ctx.bus.publish(vmFromRow(updated));
    return;
  }
  if (same || status.phase === 'starting' || status.phase === 'stopping') return;
  if (row.state === 'created' && status.phase === 'stopped') return;
  const out = await applyAgentStatus(ctx, row, status, 'reconciler');
  if (out) ctx.log.info({ vm: row.id, from: row.state, to: out.state }, 'reconciled VM state');
}

/** Re-issues the agent call of an interrupted transition; every agent call is idempotent. */
function resumeInterrupted(ctx: VmContext, row: VmRow): void {
  ctx.log.info({ vm: row.id, state: row.state }, 'resuming an interrupted operation');
  ctx.operations.track(row.id, async () => {
    try {
      const host = await hostOf(ctx, row);
      // A restore interrupted by a manager restart is re-driven as a restore, never as a cold
      // boot that would silently drop the snapshot's memory and disk.
      if (row.state === 'starting' && row.snapshot_id && row.state_reason?.startsWith(RESTORING)) {
        // A disk-only restore onto a stopped VM leaves it stopped (desired stopped).
        const start = row.desired_state !== 'stopped';
        return void (await runRestore(ctx, row, row.snapshot_id, 'reconciler', start));
      }
      if (row.state === 'starting') return void (await runStart(ctx, row, 'reconciler'));
      const status =
        row.state === 'stopping'
          ? await ctx.agents.stop(host, row.id, false, 30_000)
          : row.state === 'pausing'
            ? await ctx.agents.pause(host, row.id)
            : await ctx.agents.resume(host, row.id);
      await applyAgentStatus(ctx, row, status, 'reconciler');
    } catch (e) {
      await failVm(ctx, row, 'reconciler', `Resuming the interrupted ${row.state} failed`, e);
    }
  });
}
