import { HearthError, networkHostNeeds, type NicRequest, type VmNic } from '@hearth/contract';
import type { Orm } from '../../db/db.ts';
import { idHash } from '@hearth/contract/host-names';
import { isUniqueViolation } from '../../db/index.ts';
import type { Stores } from '../../store/index.ts';
import type { NetworkRow, NicRow } from '../../store/networks.ts';
import { AddressClaims } from './address-claims.ts';
import { inCidr } from './network-checks.ts';
import { ipToInt, macForIp, nextFreeIp, parseCidr } from './ipam.ts';

/** One NIC of a new VM: its network, and the address asked for, if any. */
export interface PlannedNic {
  net: NetworkRow;
  ip?: string | undefined;
}

/** What the scheduler must find on a host for a VM's NICs. */
export interface HostNetNeeds {
  /** Probe names (`net-nat`, …), plus `underlay` for VXLAN. */
  features: string[];
  /** Host interfaces bridged networks go onto, with the bridge that may already own them. */
  interfaces: { name: string; bridge: string }[];
}

/** A new VM's NICs, in order, and what they need from its host. */
export interface NicPlan {
  nics: PlannedNic[];
  hostNeeds: HostNetNeeds;
}

/**
 * The networks a new VM's NICs go on: `networks`, or `network`, or the default network; named
 * networks are found among the VM's project's and the shared ones.
 */
export async function planNics(
  stores: Stores,
  body: { project: string; network?: string | undefined; networks?: NicRequest[] | undefined },
): Promise<NicPlan> {
  if (body.network !== undefined && body.networks !== undefined) {
    throw new HearthError(
      'VALIDATION_FAILED',
      'Creating the VM failed: give `network` or `networks`, not both.',
      {
        fields: { network: ['not with networks'] },
      },
    );
  }
  const reqs: NicRequest[] = body.networks ?? (body.network !== undefined ? [body.network] : []);
  const nics: PlannedNic[] = [];
  if (!reqs.length) {
    const def = await stores.networks.getDefault();
    if (def) nics.push({ net: def });
  }
  for (const r of reqs) {
    const net = await stores.networks.require(typeof r === 'string' ? r : r.network, body.project);
    const ip = typeof r === 'string' ? undefined : r.ip;
    if (ip !== undefined) assertHostAddress(net, ip);
    if (nics.some((p) => p.net.id === net.id)) {
      throw new HearthError(
        'VALIDATION_FAILED',
        `Creating the VM failed: network "${net.name}" is listed twice.`,
        {
          fields: { networks: ['each network at most once'] },
        },
      );
    }
    nics.push({ net, ip });
  }
  return { nics, hostNeeds: hostNeedsOf(nics) };
}

/** An address asked for must be a host address of the network's subnet (not its gateway). */
function assertHostAddress(net: NetworkRow, ip: string): void {
  const sub = net.cidr ? parseCidr(net.cidr) : null;
  const n = ipToInt(ip);
  const edge = sub && (n === sub.network || n === sub.network + 2 ** (32 - sub.prefix) - 1);
  if (!net.cidr || !inCidr(ip, net.cidr) || ip === net.gateway || edge) {
    throw new HearthError(
      'NETWORK_IP_UNAVAILABLE',
      `Creating the VM failed: ${ip} is not a free host address of network "${net.name}" (${net.cidr ?? 'DHCP, no subnet'}).`,
      { fields: { networks: [`${ip} outside ${net.cidr ?? 'the network'}`] } },
    );
  }
}

function hostNeedsOf(nics: PlannedNic[]): HostNetNeeds {
  const features = nics.flatMap((p) => {
    const needs = networkHostNeeds(p.net);
    return [...needs.features, ...(needs.underlay ? ['underlay'] : [])];
  });
  return {
    features: [...new Set(features)],
    interfaces: nics.flatMap((p) => (p.net.iface ? [{ name: p.net.iface, bridge: p.net.bridge }] : [])),
  };
}

/** A new VM's NIC rows, and their mirror in the VM's record. */
export interface ChosenNics {
  rows: NicRow[];
  mirror: VmNic[];
}

/** The vm_nics unique violations that mean another create took the address or MAC first. */
export const isAddressRace = (e: unknown) =>
  isUniqueViolation(e, 'vm_nics_ip') || isUniqueViolation(e, 'vm_nics_mac_key');

/**
 * A MAC each and an address from each network's subnet, read with `tx` (the transaction that
 * then inserts them, whose unique indexes refuse an address another create took meanwhile).
 */
export async function chooseNics(
  stores: Stores,
  vmId: string,
  plan: NicPlan,
  tx?: Orm,
  claims?: AddressClaims,
): Promise<ChosenNics> {
  const rows: NicRow[] = [];
  for (const [idx, p] of plan.nics.entries()) {
    const ip = await pickAddress(stores, p, tx, claims);
    const mac = ip ? macForIp(ip) : dhcpMac(vmId, idx);
    rows.push({ vm_id: vmId, idx, network_id: p.net.id, mac, ip, source: ip ? 'ipam' : 'dhcp' });
  }
  const mirror = rows.map((n, i) => ({
    network: n.network_id,
    networkName: plan.nics[i]!.net.name,
    mac: n.mac,
    ip: n.ip,
  }));
  return { rows, mirror };
}

/** The refusal when an address asked for was taken by a create racing this one. */
export function askedAddressTaken(plan: NicPlan): HearthError | null {
  return plan.nics.some((p) => p.ip !== undefined)
    ? new HearthError(
        'NETWORK_IP_UNAVAILABLE',
        'Creating the VM failed: the address asked for was taken meanwhile.',
      )
    : null;
}

/** The NIC's address: the one asked for if free, else the next free one; null on DHCP networks. */
async function pickAddress(
  stores: Stores,
  p: PlannedNic,
  tx?: Orm,
  claims?: AddressClaims,
): Promise<string | null> {
  if (!p.net.cidr) return null;
  const used = new Set(await stores.networks.usedIps(p.net.id, tx));
  if (p.net.gateway) used.add(p.net.gateway);
  if (p.ip !== undefined) {
    if (used.has(p.ip)) {
      throw new HearthError(
        'NETWORK_IP_UNAVAILABLE',
        `Creating the VM failed: ${p.ip} on network "${p.net.name}" is in use.`,
        { fields: { networks: [`${p.ip} is taken`] } },
      );
    }
    return p.ip;
  }
  // Skipping what creates in flight picked; a network that only those fill is not exhausted yet
  // (one of them may fail), so then the lowest free address is taken and may race as before.
  const ip =
    nextFreeIp(parseCidr(p.net.cidr), new Set([...used, ...AddressClaims.claimedOn(p.net.id)])) ??
    nextFreeIp(parseCidr(p.net.cidr), used);
  if (ip) claims?.claim(p.net.id, ip);
  if (!ip) {
    throw new HearthError(
      'NETWORK_EXHAUSTED',
      `Creating the VM failed: network "${p.net.name}" has no free address left.`,
    );
  }
  return ip;
}

/** DHCP NICs: a stable locally administered MAC from the VM and NIC index. */
const dhcpMac = (vmId: string, idx: number) =>
  '02:49:' + (idHash(`${vmId}/${idx}`, 8).match(/../g) ?? []).join(':');
