import {
  canTransition,
  HearthError,
  type AgentVmStatus,
  type BootProfile,
  type VmState,
} from '@hearth/contract';
import { vmFromRow, type VmRow } from '../../store/mappers.ts';
import type { StatePatch } from '../../store/vms.ts';
import { waitsInPool } from '../../store/pools.ts';
import type { VmContext } from './context.ts';
import { stopAtFor } from './timeouts.ts';
import { observeStart } from '../metrics/timings.ts';

/** Moves the VM and publishes the change; null when it was no longer in `row.state`. */
export async function moveVm(
  ctx: VmContext,
  row: VmRow,
  to: VmState,
  actor: string,
  patch: StatePatch = {},
): Promise<VmRow | null> {
  if (!canTransition(row.state, to)) {
    throw new HearthError(
      'INTERNAL',
      `Changing VM ${row.id} from ${row.state} to ${to} is not a legal transition.`,
    );
  }
  const out = await ctx.stores.vms.transition(row.id, row.state, to, actor, patch);
  if (!out) return null;
  if (patch.bootProfile) observeStart(patch.bootProfile);
  ctx.bus.publish(vmFromRow(out.vm), row.state);
  return out.vm;
}

const STATE_OF_PHASE: Partial<Record<AgentVmStatus['phase'], VmState>> = {
  running: 'running',
  paused: 'paused',
  stopped: 'stopped',
  failed: 'failed',
};

/** Applies what the agent says happened to a VM that is in `row.state`. */
export async function applyAgentStatus(
  ctx: VmContext,
  row: VmRow,
  status: AgentVmStatus,
  actor: string,
  /** Written with a move to running: where this start-up's time went. */
  bootProfile?: BootProfile,
): Promise<VmRow | null> {
  const phaseState = STATE_OF_PHASE[status.phase];
  // A pool's VM, booted and not handed out yet, waits as `pooled`.
  const to = phaseState === 'running' && waitsInPool(row) ? 'pooled' : phaseState;
  if (!to || !canTransition(row.state, to)) {
    // What the agent saw does not follow from where the record is (say, a push racing a restart):
    // leave it to the next heartbeat rather than fail the request.
    if (to) ctx.log.warn({ vm: row.id, from: row.state, to }, 'ignoring an out-of-order agent status');
    return null;
  }
  switch (status.phase) {
    case 'running': {
      const startedAt = status.startedAt ? new Date(status.startedAt) : new Date();
      return moveVm(ctx, row, to, actor, {
        reason: null,
        pid: status.pid,
        accel: status.accel,
        startedAt,
        stopAt: stopAtFor(row.timeout, startedAt),
        ...(bootProfile ? { bootProfile } : {}),
      });
    }
    case 'paused':
      return moveVm(ctx, row, 'paused', actor, { reason: null, pid: status.pid });
    case 'stopped':
      return moveVm(ctx, row, 'stopped', actor, {
        reason: status.reason,
        pid: null,
        startedAt: null,
        stopAt: null,
      });
    case 'failed':
      return moveVm(ctx, row, 'failed', actor, {
        reason: status.reason ?? 'failed',
        pid: null,
        startedAt: null,
        stopAt: null,
      });
    default:
      return null;
  }
}

/** The agent could not be reached at all: says nothing about the VM. */
const hostAway = (e: unknown) =>
  e instanceof HearthError && (e.code === 'AGENT_UNREACHABLE' || e.code === 'HOST_UNAVAILABLE');

/** An operation on the VM failed: the VM is `failed` with why, unless its host was merely away. */
export async function failVm(
  ctx: VmContext,
  row: VmRow,
  actor: string,
  what: string,
  e: unknown,
): Promise<void> {
  if (hostAway(e)) {
    // Nothing is known about the VM while its agent cannot be reached: the record stays as it is
    // (with its desired state) and the reconciler drives it again once the host heartbeats.
    ctx.log.warn(
      { vm: row.id, state: row.state, err: (e as Error).message },
      'host unreachable; the operation resumes when its agent is back',
    );
    return;
  }
  const reason = `${what}: ${(e as Error).message}`;
  ctx.log.warn({ vm: row.id, reason }, 'VM operation failed');
  await moveVm(ctx, row, 'failed', actor, { reason, pid: null });
}
