import {
  HearthError,
  NET_FEATURE_NAMES,
  networkNeeds,
  type CreateNetworkBody,
  type Network,
} from '@hearth/contract';
import type { HostRow } from '../../store/mappers.ts';
import type { NetworkRow } from '../../store/networks.ts';
import { hostHasFeature, interfaceUsable } from '../scheduler.ts';
import { ipToInt, parseCidr } from './ipam.ts';

/** The smallest subnet we hand out: network, gateway, broadcast and a handful of VMs. */
const MAX_PREFIX = 29;
const MIN_PREFIX = 8;

const invalid = (msg: string, field: string, why: string) =>
  new HearthError('NETWORK_INVALID', `Creating the network failed: ${msg}`, { fields: { [field]: [why] } });

export function inCidr(ip: string, cidr: string): boolean {
  const s = parseCidr(cidr);
  const n = ipToInt(ip);
  return n >= s.network && n < s.network + 2 ** (32 - s.prefix);
}

function overlaps(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  const xEnd = x.network + 2 ** (32 - x.prefix);
  const yEnd = y.network + 2 ** (32 - y.prefix);
  return x.network < yEnd && y.network < xEnd;
}

/**
 * Everything a new network must satisfy before it is recorded: its mode's fields, a subnet that
 * overlaps no other, a free VNI and interface, and ready hosts that can build it. Returns the
 * normalised subnet and gateway.
 */
export function checkNetworkBody(
  body: CreateNetworkBody & { mode: Network['mode'] },
  hosts: HostRow[],
  existing: NetworkRow[],
): { cidr: string | null; gateway: string | null } {
  const mode = body.mode;
  let cidr: string | null = null;
  if (body.cidr !== undefined) {
    const [addr, p] = body.cidr.split('/');
    const prefix = Number(p);
    if (prefix > MAX_PREFIX) {
      throw new HearthError(
        'NETWORK_CIDR_TOO_SMALL',
        `Creating the network failed: ${body.cidr} has room for ${Math.max(0, 2 ** (32 - prefix) - 3)} VMs.`,
        { fields: { cidr: [`at most /${MAX_PREFIX}`] } },
      );
    }
    if (prefix < MIN_PREFIX)
      throw invalid(`${body.cidr} is larger than a /${MIN_PREFIX}.`, 'cidr', `at least /${MIN_PREFIX}`);
    cidr = parseCidr(`${addr}/${prefix}`).cidr;
  } else if (mode !== 'bridged') {
    throw invalid(`a ${mode} network needs a cidr.`, 'cidr', 'required');
  }
  if (mode !== 'bridged' && body.interface !== undefined)
    throw invalid('only bridged networks take an interface.', 'interface', 'only with mode bridged');
  if (mode === 'bridged' && body.interface === undefined)
    throw invalid('a bridged network needs the host interface to bridge onto.', 'interface', 'required');
  if (body.vlan !== undefined && mode !== 'bridged')
    throw invalid('VLAN ids apply to bridged networks.', 'vlan', 'only with mode bridged');
  if (mode === 'vxlan' && body.vni === undefined)
    throw invalid('a vxlan network needs a vni.', 'vni', 'required');
  if (mode !== 'vxlan' && (body.vni !== undefined || body.port !== undefined))
    throw invalid(
      'vni and port apply to vxlan networks.',
      body.vni !== undefined ? 'vni' : 'port',
      'only with mode vxlan',
    );
  let gateway: string | null = body.gateway ?? null;
  if (gateway && !cidr) throw invalid('a gateway needs a cidr.', 'gateway', 'needs cidr');
  if (mode === 'nat' && !gateway) gateway = parseCidr(cidr!).gateway;
  if (gateway && cidr) {
    const s = parseCidr(cidr);
    const g = ipToInt(gateway);
    if (!inCidr(gateway, cidr) || g === s.network || g === s.network + 2 ** (32 - s.prefix) - 1)
      throw invalid(`gateway ${gateway} is not a host address of ${cidr}.`, 'gateway', 'outside the subnet');
  }
  if (cidr) {
    for (const other of existing) {
      if (other.cidr && overlaps(cidr, other.cidr)) {
        throw new HearthError(
          'NETWORK_CIDR_OVERLAP',
          `Creating the network failed: ${cidr} overlaps network "${other.name}" (${other.cidr}).`,
          { fields: { cidr: [`overlaps ${other.name}`] }, detail: { network: other.name } },
        );
      }
    }
  }
  if (body.vni !== undefined) {
    const clash = existing.find((n) => n.vni === body.vni);
    if (clash) {
      throw new HearthError(
        'NETWORK_VNI_TAKEN',
        `Creating the network failed: VNI ${body.vni} belongs to network "${clash.name}".`,
        { fields: { vni: ['taken'] }, detail: { network: clash.name } },
      );
    }
  }
  // The features beyond a bridge (what the API reports as `requires`): a network may be recorded
  // before any host is ready, and placement checks the whole of networkHostNeeds per VM.
  const needs = networkNeeds({ mode, vlan: body.vlan ?? null });
  const missing = needs.filter((f) => !hosts.some((h) => hostHasFeature(h, f)));
  if (missing.length) {
    const where = hosts.length
      ? `none of the ${hosts.length} ready host(s) has`
      : 'no host is ready to offer';
    throw new HearthError(
      'NETWORK_FEATURE_MISSING',
      `Creating the network failed: ${mode}${body.vlan !== undefined ? ` on VLAN ${body.vlan}` : ''} needs ${missing.map((f) => NET_FEATURE_NAMES[f] ?? f).join(' and ')}, which ${where}.`,
      {
        detail: { missing },
        fields: { [body.vlan !== undefined ? 'vlan' : 'mode']: [`missing ${missing.join(', ')}`] },
      },
    );
  }
  if (mode === 'bridged') {
    const having = hosts.filter((h) => (h.inventory.interfaces ?? []).some((i) => i.name === body.interface));
    if (!having.length) {
      throw new HearthError(
        'NETWORK_INTERFACE_MISSING',
        `Creating the network failed: no ready host has an interface named "${body.interface}".`,
        { fields: { interface: ['not found on any host'] } },
      );
    }
    const free = having.filter((h) => interfaceUsable(h, body.interface!, null));
    if (!free.length) {
      throw new HearthError(
        'NETWORK_INTERFACE_BUSY',
        `Creating the network failed: interface "${body.interface}" carries addresses or is already a bridge or bond port on every host that has it.`,
        { fields: { interface: ['in use by the host'] } },
      );
    }
    const taken = existing.find((n) => n.mode === 'bridged' && n.iface === body.interface);
    if (taken) {
      throw new HearthError(
        'NETWORK_INTERFACE_BUSY',
        `Creating the network failed: interface "${body.interface}" already carries network "${taken.name}".`,
        { fields: { interface: [`used by ${taken.name}`] }, detail: { network: taken.name } },
      );
    }
  }
  return { cidr, gateway };
}
