import { actionRule, HearthError, type Vm } from '@hearth/contract';
import { vmFromRow, type VmRow } from '../../store/mappers.ts';
import type { SnapshotRow } from '../../store/snapshots.ts';
import type { NewVm } from '../../store/vms.ts';
import { assertRestorable } from '../snapshot-checks.ts';
import { agentSpecFor } from './agent-spec.ts';
import { hostOf, RESTORING, type VmContext } from './context.ts';
import { insertVm } from './create.ts';
import { applyAgentStatus, failVm, moveVm } from './transitions.ts';

export interface CloneInput {
  name?: string | undefined;
  project: string;
  labels?: Record<string, string> | undefined;
  /** A snapshot pool's VM: it waits in this pool (`pooled`) once restored. */
  pool?: string | undefined;
  /** A snapshot pool's spec sets these; a user's clone has none. */
  egress?: NewVm['egress'];
  bandwidthMbit?: number | null | undefined;
}

/**
 * A new VM running from a snapshot (a clone): the snapshot's host, resources, disk and guest
 * secret, with its own id, name, MAC and address, applied inside the guest after restore.
 */
export async function cloneFromSnapshot(
  ctx: VmContext,
  snap: SnapshotRow,
  body: CloneInput,
  actor: string,
): Promise<Vm> {
  await assertRestorable(ctx.stores, snap);
  if (snap.volumes.length) {
    // The copies belong to the volumes of the VM it was taken of; a clone would need its own.
    throw new HearthError(
      'SNAPSHOT_INCOMPATIBLE',
      `Restoring failed: snapshot ${snap.name} holds volumes (${snap.volumes.join(', ')}); restore it in place onto its VM with POST /v1/vms/{id}/restore.`,
      { detail: { reason: 'volumes', volumes: snap.volumes } },
    );
  }
  const host = await ctx.stores.hosts.require(snap.host_id);
  if (host.state !== 'ready') {
    throw new HearthError(
      'NO_HOST_AVAILABLE',
      `Restoring failed: host ${host.name}, which holds the snapshot, is ${host.state}.`,
    );
  }
  const { row, release } = await insertVm(
    ctx,
    {
      name: body.name,
      project: body.project,
      desiredState: 'running',
      vcpus: snap.vcpus,
      memoryMib: snap.memory_mib,
      diskMib: snap.disk_mib,
      imageId: snap.image_id,
      kernelId: snap.kernel_id,
      vmm: snap.vmm,
      hostId: snap.host_id,
      env: snap.env ?? {},
      labels: body.labels ?? {},
      timeout: null,
      guest: snap.guest,
      snapshotId: snap.id,
      egress: body.egress ?? null,
      bandwidthMbit: body.bandwidthMbit ?? null,
      // The same networks as the VM it was taken of (the saved devices must match), new addresses.
      nics: await ctx.networks.planNics({
        project: body.project,
        networks: snap.networks?.length ? snap.networks : undefined,
      }),
    },
    {
      state: 'starting',
      actor,
      created: body.pool
        ? `restored from snapshot ${snap.name} (${snap.id}) for pool ${body.pool}`
        : `cloned from snapshot ${snap.name} (${snap.id})`,
      reason: `${RESTORING} ${snap.name}`,
    },
  );
  try {
    if (body.pool) {
      // Before its restore ends: the agent's `running` then makes it `pooled`, not `running`.
      await ctx.stores.pools.adopt(row.id, body.pool);
      row.pool = body.pool;
    }
    ctx.operations.track(row.id, () => runRestore(ctx, row, snap.id, actor));
    return vmFromRow(row);
  } finally {
    release();
  }
}

/**
 * Puts a VM back to a snapshot of itself: memory, devices and disk as they were then; for a
 * disk-only snapshot its disks, booted cold.
 */
export async function restoreInPlace(
  ctx: VmContext,
  idOrName: string,
  project: string,
  snap: SnapshotRow,
  actor: string,
): Promise<Vm> {
  const row = await ctx.stores.vms.require(idOrName, project);
  if (snap.vm_id !== row.id) {
    throw new HearthError(
      'VALIDATION_FAILED',
      `Restoring VM "${row.name}" failed: snapshot ${snap.name} was taken of another VM; clone it with POST /v1/snapshots/${snap.id}/restore.`,
      { fields: { snapshot: ['not a snapshot of this VM'] } },
    );
  }
  await assertRestorable(ctx.stores, snap);
  const disk = snap.kind === 'disk';
  // Disks boot under any vCPU count or memory size; saved memory loads only into the same.
  const resized = disk
    ? row.disk_mib !== snap.disk_mib
    : row.vcpus !== snap.vcpus || row.memory_mib !== snap.memory_mib || row.disk_mib !== snap.disk_mib;
  if (resized) {
    throw new HearthError(
      'SNAPSHOT_INCOMPATIBLE',
      `Restoring VM "${row.name}" failed: it was resized since snapshot ${snap.name} (${snap.vcpus} vCPU, ${snap.memory_mib} MiB then; ${row.vcpus} vCPU, ${row.memory_mib} MiB now).`,
      { detail: { reason: 'resized' } },
    );
  }
  const attached = (await ctx.stores.volumes.forVm(row.id)).map((v) => v.id);
  if (attached.join(',') !== snap.volumes.join(',')) {
    throw new HearthError(
      'SNAPSHOT_INCOMPATIBLE',
      `Restoring VM "${row.name}" failed: it has volumes [${attached.join(', ')}] attached and snapshot ${snap.name} holds [${snap.volumes.join(', ')}]; attach or detach volumes to match.`,
      { detail: { reason: 'volumes differ', attached, saved: snap.volumes } },
    );
  }
  const rule = actionRule('restore');
  if (!rule.from.includes(row.state)) {
    throw new HearthError('VM_INVALID_STATE', `Cannot restore VM "${row.name}": it is ${row.state}.`, {
      detail: { state: row.state, action: 'restore', allowedFrom: rule.from },
    });
  }
  // A disk-only snapshot boots cold a VM that was up; a stopped (or failed) one gets its disks
  // back and stays stopped.
  const start = !disk || row.state === 'running' || row.state === 'paused';
  const moved = await moveVm(ctx, row, rule.enters, actor, {
    desiredState: start ? 'running' : 'stopped',
    reason: `${RESTORING} ${snap.name}`,
  });
  if (!moved)
    throw new HearthError('VM_BUSY', `Cannot restore VM "${row.name}": it changed state meanwhile.`);
  await ctx.stores.vms.setSnapshotOrigin(row.id, snap.id);
  ctx.operations.track(row.id, () =>
    runRestore(ctx, { ...moved, snapshot_id: snap.id }, snap.id, actor, start),
  );
  return vmFromRow(moved);
}

/** The agent call of a restore (in place or a clone), and its outcome on the record. */
export async function runRestore(
  ctx: VmContext,
  row: VmRow,
  snapshotId: string,
  actor: string,
  start = true,
): Promise<void> {
  try {
    const spec = await agentSpecFor(ctx, row);
    const status = await ctx.agents.restore(await hostOf(ctx, row), spec, snapshotId, start);
    await applyAgentStatus(ctx, row, status, actor);
  } catch (e) {
    await failVm(ctx, row, actor, 'Restoring the snapshot failed', e);
  }
}
