import { HearthError, type PortMapping } from '@hearth/contract';
import type { NicPlan } from '../networks/nic-planning.ts';
import { placeVm, type Placement, type PlaceRequest } from '../scheduler.ts';
import type { VmRow } from '../../store/mappers.ts';
import type { CreateInput } from './create-input.ts';
import type { VmContext } from './context.ts';

/**
 * Where a new VM goes: its NICs planned first (their networks decide which hosts can carry it),
 * then a host with room, then its published ports checked against that host's.
 */
export async function placeNewVm(
  ctx: VmContext,
  body: CreateInput,
  diskMib?: number | Promise<number>,
): Promise<{ placement: Placement; nics: NicPlan; ports: PortMapping[] }> {
  // Independent reads, side by side.
  const group = body.antiAffinityGroup;
  const [nics, hosts, members] = await Promise.all([
    ctx.networks.planNics(body),
    ctx.stores.hosts.forPlacement(),
    group ? ctx.stores.hostPlacement.groupHosts(body.project, group) : null,
  ]);
  const disk = await diskMib;
  const placement = placeVm(
    hosts,
    {
      ...body,
      net: nics.hostNeeds,
      ...(disk ? { diskMib: disk } : {}),
      antiAffinity: group && members ? { group, members } : null,
    },
    ctx.memory,
    ctx.disk,
    ctx.placement,
  );
  // Parsed input: protocol defaults are applied.
  const ports = (body.ports ?? []) as PortMapping[];
  if (ports.length) await assertPortsFree(ctx, placement.host.id, null, ports, 'Creating the VM');
  return { placement, nics, ports };
}

/** One host port and protocol belongs to one VM per host (`vmId`'s own ports excepted). */
export async function assertPortsFree(
  ctx: VmContext,
  hostId: string,
  vmId: string | null,
  ports: PortMapping[],
  what: string,
): Promise<void> {
  const taken = new Map<string, string>();
  for (const other of await ctx.stores.vms.portsOnHost(hostId, vmId)) {
    for (const p of other.ports) taken.set(`${p.host}/${p.protocol}`, other.name);
  }
  const clash = ports.find((p) => taken.has(`${p.host}/${p.protocol}`));
  if (clash) {
    const owner = taken.get(`${clash.host}/${clash.protocol}`);
    throw new HearthError(
      'PORT_TAKEN',
      `${what} failed: host port ${clash.host}/${clash.protocol} is published by VM "${owner}".`,
      {
        fields: { ports: [`${clash.host}/${clash.protocol} is taken`] },
        detail: { vm: owner },
      },
    );
  }
}

/**
 * The placement constraints a VM was created with, for placing it again (a migration, a restart
 * after its host died): its host selector, its anti-affinity group less itself, the strategy.
 */
export async function constraintsOf(
  ctx: VmContext,
  row: Pick<VmRow, 'id' | 'name' | 'project' | 'host_id' | 'host_selector' | 'anti_affinity_group'>,
): Promise<Pick<PlaceRequest, 'hostSelector' | 'antiAffinity'>> {
  const group = row.anti_affinity_group;
  if (!group) return { hostSelector: row.host_selector ?? {} };
  const members = await ctx.stores.hostPlacement.groupHosts(row.project, group);
  // The VM itself never counts against a host: it is the one being placed.
  const own = row.host_id ? members.get(row.host_id) : undefined;
  if (row.host_id && own) {
    const rest = own.filter((n) => n !== row.name);
    if (rest.length) members.set(row.host_id, rest);
    else members.delete(row.host_id);
  }
  return { hostSelector: row.host_selector ?? {}, antiAffinity: { group, members } };
}
