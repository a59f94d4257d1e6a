import type { DeclaredDeadHost, VmmKind, VmState } from '@hearth/contract';
import type { VmRow } from '../../store/mappers.ts';
import { waitsInPool } from '../../store/pools.ts';
import { placeVm } from '../scheduler.ts';
import { RESTORING, type VmContext } from './context.ts';
import { runDelete, runStart } from './lifecycle.ts';
import { assertPortsFree, constraintsOf } from './placement.ts';
import { runRestore } from './restore.ts';
import { moveVm } from './transitions.ts';

/** States in which a VM may be running (or about to) on its host: unknown once the host is silent. */
const MAYBE_RUNNING: readonly VmState[] = [
  'starting',
  'running',
  'pooled',
  'pausing',
  'paused',
  'resuming',
  'stopping',
];

/**
 * The host stayed silent past the grace period: what its VMs that may be running are doing is not
 * known. They become `unknown` (not `failed`); the host's next heartbeat reconciles them.
 */
export async function markHostVmsUnknown(
  ctx: VmContext,
  host: { id: string; name: string },
  graceMs: number,
): Promise<number> {
  const reason = `host ${host.name} has not been heard from for over ${Math.round(graceMs / 1000)} s`;
  let n = 0;
  for (const row of await ctx.stores.vms.onHost(host.id)) {
    if (!MAYBE_RUNNING.includes(row.state)) continue;
    if (await moveVm(ctx, row, 'unknown', 'host-liveness', { reason })) n++;
  }
  return n;
}

type Plan =
  | { kind: 'snapshot'; hostId: string; snapshotId: string; why: string }
  | { kind: 'image'; hostId: string; hostName: string; vmm: VmmKind; why: string }
  | { kind: 'lost'; why: string };

/**
 * After an operator declared `dead` dead: every VM it held is fenced there, then VMs with restart
 * policy `always` that were meant to run start on another host (latest snapshot on a live host,
 * else afresh from their image), and the rest become `lost` with why.
 */
export async function failOverHost(
  ctx: VmContext,
  dead: { id: string; name: string },
  actor: string,
): Promise<Omit<DeclaredDeadHost, 'id' | 'name'>> {
  const out: Omit<DeclaredDeadHost, 'id' | 'name'> = { restarted: [], lost: [] };
  for (const first of await ctx.stores.vms.onHost(dead.id)) {
    // Fenced first: whatever follows, the dead host's copy must never run again.
    await ctx.stores.hostFailure.fence(dead.id, first.id, `host ${dead.name} was declared dead`);
    const release = ctx.operations.hold(first.id);
    try {
      // The record may move meanwhile (the unreachable sweep marking it unknown): read it again
      // and decide again until the move applies to the state it was decided on.
      let row: VmRow | null = first;
      for (let attempt = 0; row && row.host_id === dead.id && attempt < 5; attempt++) {
        if (await failOverVm(ctx, row, dead, actor, out)) break;
        row = await ctx.stores.vms.getUnscoped(first.id);
      }
    } finally {
      release();
    }
  }
  return out;
}

/** Restarts the VM elsewhere or marks it lost; false when it was no longer in `row.state`. */
async function failOverVm(
  ctx: VmContext,
  row: VmRow,
  dead: { id: string; name: string },
  actor: string,
  out: Omit<DeclaredDeadHost, 'id' | 'name'>,
): Promise<boolean> {
  const plan = await planFor(ctx, row, dead);
  if (plan.kind === 'lost') {
    const lost = await moveVm(ctx, row, 'lost', actor, { hostId: null, pid: null, reason: plan.why });
    if (!lost) return false;
    out.lost.push({ vm: row.id, reason: plan.why });
    // A warm pool's VM not handed out yet goes at once: the pool boots a replacement.
    if (waitsInPool(lost)) await forgetPoolVm(ctx, lost, actor);
    return true;
  }
  const moved = await moveVm(ctx, row, 'starting', actor, {
    hostId: plan.hostId,
    ...(plan.kind === 'image' ? { vmm: plan.vmm } : {}),
    pid: null,
    startedAt: null,
    desiredState: 'running',
    // A restore carries RESTORING so that a manager restart re-drives it as one.
    reason: plan.kind === 'snapshot' ? `${RESTORING} ${plan.snapshotId}: ${plan.why}` : plan.why,
  });
  if (!moved) return false;
  out.restarted.push({ vm: row.id, host: plan.hostId, from: plan.kind });
  ctx.operations.track(row.id, () =>
    plan.kind === 'snapshot'
      ? runRestore(ctx, moved, plan.snapshotId, actor, true)
      : runStart(ctx, moved, actor),
  );
  return true;
}

async function planFor(ctx: VmContext, row: VmRow, dead: { id: string; name: string }): Promise<Plan> {
  const on = `host ${dead.name} was declared dead`;
  if (row.restart_policy !== 'always') return { kind: 'lost', why: `${on}; its restart policy is "no"` };
  if (row.desired_state !== 'running' || waitsInPool(row)) {
    return { kind: 'lost', why: `${on}; it was not meant to be running, and its disk was on that host` };
  }
  const snap = await ctx.stores.hostFailure.reachableSnapshot(row.id, dead.id);
  if (snap) {
    return {
      kind: 'snapshot',
      hostId: snap.host_id,
      snapshotId: snap.id,
      why: `${on}; restarted from its latest ${snap.kind === 'disk' ? 'disk-only ' : ''}snapshot on a live host`,
    };
  }
  const hadSnapshot = await ctx.stores.hostFailure.anySnapshot(row.id);
  const image = await ctx.stores.images.getUnscoped(row.image_id).catch(() => null);
  if (!image || image.status !== 'ready') {
    return {
      kind: 'lost',
      why: `${on}; ${hadSnapshot ? 'its snapshots were on that host' : 'it has no snapshot'} and its image is no longer available`,
    };
  }
  try {
    const hosts = (await ctx.stores.hosts.forPlacement()).filter((h) => h.id !== dead.id);
    const p = placeVm(
      hosts,
      {
        vcpus: row.vcpus,
        memoryMib: row.memory_mib,
        vmm: row.vmm ?? undefined,
        diskMib: row.disk_mib,
        ...(await constraintsOf(ctx, row)),
      },
      ctx.memory,
      ctx.disk,
      ctx.placement,
    );
    if (row.ports?.length) await assertPortsFree(ctx, p.host.id, row.id, row.ports, 'Restarting the VM');
    return {
      kind: 'image',
      hostId: p.host.id,
      hostName: p.host.name,
      vmm: p.vmm,
      why: `${on}; restarted on ${p.host.name} from its image (${hadSnapshot ? 'its snapshots were on that host' : 'it has no snapshot'}): its disk starts afresh`,
    };
  } catch (e) {
    return { kind: 'lost', why: `${on}; no other host could take it: ${(e as Error).message}` };
  }
}

async function forgetPoolVm(ctx: VmContext, row: VmRow, actor: string): Promise<void> {
  const deleting = await moveVm(ctx, row, 'deleting', actor, { reason: 'its host was declared dead' });
  if (deleting) await runDelete(ctx, deleting, actor).catch(() => undefined);
}
