import { HearthError, newId, type Vm } from '@hearth/contract';
import { isUniqueViolation } from '../../db/index.ts';
import { vmFromRow, type VmRow } from '../../store/mappers.ts';
import type { NewVm } from '../../store/vms.ts';
import { AddressClaims } from '../networks/address-claims.ts';
import { askedAddressTaken, isAddressRace, type NicPlan } from '../networks/nic-planning.ts';
import { vmNeed } from '../quotas.ts';
import type { VmContext } from './context.ts';
import {
  diskBytesFor,
  dnsAliasesFor,
  guestCredentials,
  kernelFor,
  resolveBootImages,
  type CreateInput,
} from './create-input.ts';
import { markStep, startBootClock } from './boot-profile.ts';
import { runStart } from './lifecycle.ts';
import { placeNewVm } from './placement.ts';

/** A new VM from an image: checked, placed, recorded with its NICs, and booted when `start`. */
export async function createVm(ctx: VmContext, body: CreateInput, actor: string): Promise<Vm> {
  const dnsAliases = dnsAliasesFor(body);
  const clock = startBootClock('cold');
  // The images and the placement are read side by side; a refusal about the images comes first.
  const placing = performance.now();
  const booting = resolveBootImages(ctx, body);
  // Placement admits the VM's whole disk; its size may come from the image.
  const diskMib = booting.then(({ image }) => Math.ceil(diskBytesFor(body, image) / 2 ** 20));
  diskMib.catch(() => undefined); // a refusal about the images is thrown below, from `boot`
  const [boot, place] = await Promise.allSettled([
    booting,
    placeNewVm(ctx, body, diskMib).then((r) => {
      markStep(clock, 'place', placing);
      return r;
    }),
  ]);
  if (boot.status === 'rejected') throw boot.reason;
  const { image } = boot.value;
  if (place.status === 'rejected') throw place.reason;
  let placed = place.value;
  for (let attempt = 1; ; attempt++) {
    const { kernel, note } = kernelFor(placed.placement.vmm, boot.value);
    try {
      return await recordAndStart(ctx, body, actor, clock, placed, {
        imageId: image.id,
        kernelId: kernel.id,
        kernelNote: note,
        diskMib: await diskMib,
        dnsAliases,
      });
    } catch (e) {
      // Another create put a member of the VM's group on that host meanwhile: place again, with
      // that member counted (a refusal then says so).
      if (!(e instanceof GroupMemberOnHost) || attempt >= 5) throw e;
      placed = await placeNewVm(ctx, body, diskMib);
    }
  }
}

/** Raised inside the insert's transaction; never leaves createVm. */
class GroupMemberOnHost extends Error {}

async function recordAndStart(
  ctx: VmContext,
  body: CreateInput,
  actor: string,
  clock: ReturnType<typeof startBootClock>,
  { placement, nics, ports }: Awaited<ReturnType<typeof placeNewVm>>,
  made: {
    imageId: string;
    kernelId: string;
    kernelNote: string;
    diskMib: number;
    dnsAliases: string[] | undefined;
  },
): Promise<Vm> {
  const { row, release } = await insertVm(
    ctx,
    {
      name: body.name,
      project: body.project,
      desiredState: body.start ? 'running' : 'stopped',
      vcpus: body.vcpus,
      memoryMib: body.memoryMib,
      // Computed once, above, for placement: the same size is recorded.
      diskMib: made.diskMib,
      imageId: made.imageId,
      kernelId: made.kernelId,
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
      dnsAliases: made.dnsAliases,
      hostSelector: body.hostSelector ?? {},
      antiAffinityGroup: body.antiAffinityGroup ?? null,
      ...(body.restartPolicy ? { restartPolicy: body.restartPolicy } : {}),
      ...(body.drainPolicy ? { drainPolicy: body.drainPolicy } : {}),
      nics,
    },
    {
      state: body.start ? 'starting' : 'created',
      actor,
      created: `placed on ${placement.host.name} (${placement.vmm})${made.kernelNote}`,
      reason: null,
      followUp: body.start,
    },
  );
  try {
    if (body.start) ctx.operations.track(row.id, () => runStart(ctx, row, actor, clock));
    return vmFromRow(row);
  } finally {
    release();
  }
}

/** Where a new VM goes once recorded, and the history written with it. */
export interface Creation {
  /** The state it leaves `creating` for (`created`, or `starting` when an operation follows). */
  state: 'created' | 'starting';
  actor: string;
  /** The `created` event's reason (where it was placed, what it was cloned from). */
  created: string;
  /** The reason of the move to `state`. */
  reason: string | null;
  /**
   * false: nothing is done to the VM while it is held (a record at rest), so other manager
   * replicas need not be told of the hold. Default: they are (a boot or a copy follows).
   */
  followUp?: boolean;
}

/**
 * Records a new VM with a fresh id, its NICs' addresses and its first events, in one transaction
 * with the quota check (retrying address races), and publishes it. The VM is held busy (the
 * reconciler leaves it alone) until the caller, having started whatever follows, calls `release`.
 */
export async function insertVm(
  ctx: VmContext,
  v: Omit<NewVm, 'id' | 'name' | 'state' | 'ip' | 'mac'> & { name: string | undefined; nics: NicPlan },
  creation: Creation,
): Promise<{ row: VmRow; release: () => void }> {
  const name = v.name ?? `vm-${newId('vm').slice(-6)}`;
  const id = newId('vm');
  const { nics, ...fields } = v;
  const release = ctx.operations.hold(id, { shared: creation.followUp !== false });
  try {
    const row = await insertRow(
      ctx,
      { ...fields, id, name, state: creation.state, ip: null, mac: null },
      nics,
      creation,
    );
    ctx.bus.publish(vmFromRow(row));
    return { row, release };
  } catch (e) {
    release();
    throw e;
  }
}

async function insertRow(ctx: VmContext, v: NewVm, nics: NicPlan, creation: Creation): Promise<VmRow> {
  const group = v.antiAffinityGroup;
  for (let attempt = 0; ; attempt++) {
    // This create's addresses stay claimed against the process's other creates until its
    // transaction has ended: creates in one project run side by side (see quotas.ts).
    const claims = new AddressClaims();
    try {
      // Counted and inserted in one transaction: parallel creates cannot overshoot the project's
      // quotas, and a VM never exists without its addresses.
      return await ctx.quotas.within(
        v.project,
        vmNeed(v),
        'Creating the VM',
        async (tx) => {
          // The project's row is locked exclusively for a group member (`exclusive`): creates in
          // one group queue here, and this read sees every member inserted before.
          if (group && (await ctx.stores.hostPlacement.groupHosts(v.project, group, tx)).has(v.hostId)) {
            throw new GroupMemberOnHost();
          }
          const chosen = await ctx.networks.chooseNics(v.id, nics, tx, claims);
          return ctx.stores.vms.insertCreated(v, chosen, creation, tx);
        },
        { exclusive: group !== null && group !== undefined },
      );
    } catch (e) {
      if (isUniqueViolation(e, 'vms_project_name')) {
        throw new HearthError(
          'VM_NAME_TAKEN',
          `Creating the VM failed: project "${v.project}" already has a VM named "${v.name}".`,
          { fields: { name: ['already taken'] } },
        );
      }
      // Two creates raced for the same address: the loser picks again.
      if (isAddressRace(e) && attempt < 20) {
        const taken = askedAddressTaken(nics);
        if (taken) throw taken;
        continue;
      }
      throw e;
    } finally {
      claims.release();
    }
  }
}
