import { HearthError, newId, type Vm } from '@hearth/contract';
import { isUniqueViolation } from '../../db/index.ts';
import { vmFromRow, type VmRow } from '../../store/mappers.ts';
import type { NewVm } from '../../store/vms.ts';
import type { NicPlan } from '../networks/nic-planning.ts';
import { vmNeed } from '../quotas.ts';
import type { VmContext } from './context.ts';
import { diskBytesFor, guestCredentials, resolveBootImages, type CreateInput } from './create-input.ts';
import { markStep, startBootClock } from './boot-profile.ts';
import { runStart } from './lifecycle.ts';
import { placeNewVm } from './placement.ts';
import { moveVm } from './transitions.ts';

/** A new VM from an image: checked, placed, recorded with its NICs, and booted when `start`. */
export async function createVm(ctx: VmContext, body: CreateInput, actor: string): Promise<Vm> {
  const clock = startBootClock('cold');
  const { image, kernel } = await resolveBootImages(ctx, body);
  const diskBytes = diskBytesFor(body, image);
  const placing = performance.now();
  const { placement, nics, ports } = await placeNewVm(ctx, body, Math.ceil(diskBytes / 2 ** 20));
  markStep(clock, 'place', placing);
  const { row, release } = await insertVm(ctx, {
    name: body.name,
    project: body.project,
    desiredState: body.start ? 'running' : 'stopped',
    vcpus: body.vcpus,
    memoryMib: body.memoryMib,
    diskMib: Math.ceil(diskBytes / 2 ** 20),
    imageId: image.id,
    kernelId: kernel.id,
    vmm: placement.vmm,
    hostId: placement.host.id,
    env: body.env ?? {},
    labels: body.labels ?? {},
    timeout: body.timeout ?? null,
    guest: await guestCredentials(body),
    snapshotId: null,
    ports,
    egress: (body.egress ?? null) as Vm['egress'] | null,
    bandwidthMbit: body.bandwidthMbit ?? null,
    nics,
  });
  try {
    await ctx.stores.vms.addEvent(
      row.id,
      'created',
      actor,
      `placed on ${placement.host.name} (${placement.vmm})`,
      'creating',
    );
    const moved = await moveVm(ctx, row, body.start ? 'starting' : 'created', actor, { reason: null });
    if (body.start && moved) ctx.operations.track(row.id, () => runStart(ctx, moved, actor, clock));
    return vmFromRow(moved ?? row);
  } finally {
    release();
  }
}

/**
 * Inserts a VM row with a fresh id and its NICs' addresses (retrying address races). The VM is
 * held busy (the reconciler leaves it alone) until the caller, having moved it out of
 * `creating`, calls `release`.
 */
export async function insertVm(
  ctx: VmContext,
  v: Omit<NewVm, 'id' | 'name' | 'state' | 'ip' | 'mac'> & { name: string | undefined; nics: NicPlan },
): Promise<{ row: VmRow; release: () => void }> {
  const name = v.name ?? `vm-${newId('vm').slice(-6)}`;
  const id = newId('vm');
  const { nics, ...fields } = v;
  const release = ctx.operations.hold(id);
  try {
    return { row: await insertRow(ctx, id, name, fields, nics), release };
  } catch (e) {
    release();
    throw e;
  }
}

async function insertRow(
  ctx: VmContext,
  id: string,
  name: string,
  fields: Omit<NewVm, 'id' | 'name' | 'state' | 'ip' | 'mac'>,
  nics: NicPlan,
): Promise<VmRow> {
  try {
    // Counted and inserted in one transaction: parallel creates cannot overshoot the project's quotas.
    await ctx.quotas.within(fields.project, vmNeed(fields), 'Creating the VM', (tx) =>
      ctx.stores.vms.insert({ ...fields, id, name, state: 'creating', ip: null, mac: null }, tx),
    );
  } catch (e) {
    if (isUniqueViolation(e, 'vms_project_name')) {
      throw new HearthError(
        'VM_NAME_TAKEN',
        `Creating the VM failed: project "${fields.project}" already has a VM named "${name}".`,
        { fields: { name: ['already taken'] } },
      );
    }
    throw e;
  }
  try {
    await ctx.networks.allocateNics(id, nics);
  } catch (e) {
    // No address, no VM: nothing of it is left behind.
    await ctx.stores.vms.remove(id);
    throw e;
  }
  return ctx.stores.vms.requireUnscoped(id);
}
