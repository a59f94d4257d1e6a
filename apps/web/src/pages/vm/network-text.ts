import type { EgressPolicy, PortMapping, Vm } from '@hearth/contract';

/** The egress policy in one line, in the order the host applies it (deny before allow, then default). */
export function egressText(e: EgressPolicy): string {
  const domains = e.domains ?? [];
  if (!e.allow.length && !e.deny.length && !domains.length)
    return e.default === 'allow' ? 'allow all' : 'deny all';
  return [
    e.deny.length && `deny ${e.deny.join(', ')}`,
    e.allow.length && `allow ${e.allow.join(', ')}`,
    domains.length && `allow names ${domains.join(', ')} (as they resolve)`,
    `${e.default} the rest`,
  ]
    .filter(Boolean)
    .join('; ');
}

export const bandwidthText = (mbit: number | null): string =>
  mbit === null ? 'no limit' : `${mbit} Mbit/s per NIC, each direction`;

/** The VM's NICs in one line: network (address) each, in order. */
export function nicsText(vm: Vm): string {
  if (!vm.networks.length) return 'none';
  return vm.networks.map((n) => `${n.networkName} (${n.ip ?? 'DHCP, not yet known'})`).join(', ');
}

export function portsText(vm: { ports: PortMapping[] }): string {
  return vm.ports.length ? vm.ports.map((p) => `${p.host} → ${p.guest}/${p.protocol}`).join(', ') : 'none';
}
