import { CreateNetworkBody, HearthError, type Host, type Network, type NetworkMode } from '@hearth/contract';
import type { z } from 'zod';
import { issuesToFields, type FieldErrors } from '../create/form.ts';

/** What the create form's inputs hold: strings, as typed. */
export interface NetworkForm {
  name: string;
  mode: NetworkMode;
  cidr: string;
  gateway: string;
  /** DNS servers separated by commas or spaces. */
  dns: string;
  interface: string;
  vlan: string;
  vni: string;
  port: string;
  /** Guests may reach 169.254.0.0/16 (routed modes only; blocked by default). */
  allowMetadata: boolean;
}

export const emptyNetworkForm: NetworkForm = {
  name: '',
  mode: 'nat',
  cidr: '',
  gateway: '',
  dns: '',
  interface: '',
  vlan: '',
  vni: '',
  port: '',
  allowMetadata: false,
};

/** Modes whose guests are routed off the host, where the metadata range can be opened. */
export const METADATA_MODES: readonly NetworkMode[] = ['nat', 'bridged'];

export type ModeField = Exclude<keyof NetworkForm, 'name' | 'mode' | 'allowMetadata'>;

/**
 * The inputs each mode takes (docs/networking.md), in the order they are shown. Only these are
 * sent, so a value typed for another mode never reaches the API.
 */
export const MODE_FIELDS: Record<NetworkMode, readonly ModeField[]> = {
  nat: ['cidr', 'gateway', 'dns'],
  isolated: ['cidr'],
  bridged: ['interface', 'vlan', 'cidr', 'gateway', 'dns'],
  vxlan: ['vni', 'port', 'cidr', 'gateway', 'dns'],
};

export const MODE_LABEL: Record<NetworkMode, string> = {
  nat: 'NAT',
  isolated: 'Isolated',
  bridged: 'Bridged',
  vxlan: 'VXLAN',
};

/** What each mode is, under the mode select. */
export const MODE_HINT: Record<NetworkMode, string> = {
  nat: 'A private subnet behind the host: outbound access, DNS on the gateway.',
  isolated: 'VMs on it reach each other and nothing else.',
  bridged: 'Onto a host interface: guests are on that LAN (its DHCP, or static from a subnet).',
  vxlan: 'One L2 segment across hosts over UDP.',
};

/** Per mode and input: the label and hint shown (what is required where, and the defaults). */
export function fieldText(mode: NetworkMode, k: ModeField): { label: string; hint: string } {
  switch (k) {
    case 'cidr':
      return {
        label: 'Subnet (CIDR)',
        hint:
          mode === 'bridged'
            ? 'Optional: static addresses from this range; empty, guests use the LAN’s DHCP.'
            : 'Required, /8 to /29, such as 10.30.0.0/24; must not overlap another network.',
      };
    case 'gateway':
      return {
        label: 'Gateway',
        hint:
          mode === 'nat'
            ? 'Optional: the host’s address on the bridge; default the first address.'
            : mode === 'bridged'
              ? 'Optional: the LAN router, for static addressing.'
              : 'Optional: a router on the segment; needs a subnet.',
      };
    case 'dns':
      return {
        label: 'DNS servers',
        hint:
          mode === 'nat'
            ? 'Optional, up to 4, separated by commas; default the gateway (a forwarder there).'
            : 'Optional, up to 4, separated by commas.',
      };
    case 'interface':
      return {
        label: 'Host interface',
        hint: 'Required: an interface without IPv4 addresses, such as eth1.',
      };
    case 'vlan':
      return { label: 'VLAN id', hint: 'Optional: 802.1Q tag, 1–4094 (needs VLAN support on the host).' };
    case 'vni':
      return { label: 'VNI', hint: 'Required: the VXLAN network identifier, 1–16777215, unique.' };
    case 'port':
      return { label: 'UDP port', hint: 'Optional: default 4789.' };
  }
}

const NUMERIC: readonly ModeField[] = ['vlan', 'vni', 'port'];

/** The body of POST /v1/networks: the name, the mode and the non-empty inputs of that mode. */
export function toNetworkBody(f: NetworkForm): z.input<typeof CreateNetworkBody> {
  const body: Record<string, unknown> = { name: f.name.trim(), mode: f.mode };
  for (const k of MODE_FIELDS[f.mode]) {
    const v = f[k].trim();
    if (!v) continue;
    if (k === 'dns') body.dns = v.split(/[\s,]+/).filter(Boolean);
    else body[k] = NUMERIC.includes(k) ? Number(v) : v;
  }
  if (f.allowMetadata && METADATA_MODES.includes(f.mode)) body.allowMetadata = true;
  return body as z.input<typeof CreateNetworkBody>;
}

/** The contract's CreateNetworkBody, as the API checks it, keyed by input. */
export function validateNetwork(f: NetworkForm): FieldErrors {
  const errors: FieldErrors = {};
  for (const k of MODE_FIELDS[f.mode]) {
    if (NUMERIC.includes(k) && f[k].trim() && !/^\d+$/.test(f[k].trim())) errors[k] = ['a whole number'];
  }
  const r = CreateNetworkBody.safeParse(toNetworkBody(f));
  if (!r.success) {
    for (const [k, v] of Object.entries(issuesToFields(r.error.issues))) errors[k] ??= v;
  }
  return errors;
}

/**
 * The API's refusal keyed by input (its `fields`): NETWORK_CIDR_OVERLAP on the subnet,
 * NETWORK_FEATURE_MISSING on the mode or VLAN, NETWORK_NAME_TAKEN on the name, and so on.
 */
export function networkFieldsOf(e: unknown): FieldErrors {
  if (!(e instanceof HearthError)) return {};
  if (e.fields) return e.fields;
  return e.code === 'NETWORK_NAME_TAKEN' ? { name: [e.message] } : {};
}

/** The list's "interface / VLAN / VNI" column: what else identifies the network. */
export function networkExtra(n: Network): string {
  return (
    [
      n.interface && `interface ${n.interface}`,
      n.vlan && `VLAN ${n.vlan}`,
      n.vni && `VNI ${n.vni}`,
      n.port && `UDP ${n.port}`,
    ]
      .filter(Boolean)
      .join(', ') || '—'
  );
}

/** Interfaces a bridged network could use: on a ready host and carrying no IPv4 address there. */
export function freeInterfaces(hosts: Host[]): string[] {
  const names = hosts
    .filter((h) => h.state === 'ready')
    .flatMap((h) => h.inventory.interfaces.filter((i) => !i.addresses.length).map((i) => i.name));
  return [...new Set(names)].sort();
}
