import {
  DomainPattern,
  Ipv4,
  Ipv4Cidr,
  type EgressPolicy,
  type Network,
  type PortMapping,
} from '@hearth/contract';
import type { FieldErrors } from '../../lib/fields.ts';

/** A VM's NIC as typed: a network (by name) and an optional fixed address. */
export interface NicRow {
  network: string;
  ip: string;
}

export interface PortRow {
  host: string;
  guest: string;
  protocol: 'tcp' | 'udp';
}

/**
 * A VM's traffic policy as typed: published ports, egress policy, bandwidth limit. The wizard, the
 * VM's Network tab and the template form share these inputs.
 */
export interface PolicyInput {
  ports: PortRow[];
  egressDefault: 'allow' | 'deny';
  /** Addresses or CIDRs, one a line or separated by commas or spaces. */
  egressAllow: string;
  egressDeny: string;
  /** Names allowed as they resolve (example.com, *.example.com), one a line or comma-separated. */
  egressDomains: string;
  bandwidthMbit: string;
}

export const MAX_NICS = 4;
export const DEFAULT_NETWORK = 'default';
export const newPort = (): PortRow => ({ host: '', guest: '', protocol: 'tcp' });

export const emptyPolicy: PolicyInput = {
  ports: [],
  egressDefault: 'allow',
  egressAllow: '',
  egressDeny: '',
  egressDomains: '',
  bandwidthMbit: '',
};

/** The form keys whose messages sit under another key (the API's and the schema's paths). */
export const ERROR_KEY: Record<string, string> = {
  nics: 'networks',
  egressDefault: 'egress.default',
  egressAllow: 'egress.allow',
  egressDeny: 'egress.deny',
  egressDomains: 'egress.domains',
};

export const addressList = (text: string): string[] => text.split(/[\s,]+/).filter(Boolean);

const num = (s: string) => (s.trim() === '' ? undefined : Number(s.trim()));

/** Port rows as the API takes them; an empty input stays undefined so the schema names it. */
export const toPorts = (rows: PortRow[]) =>
  rows.map((r) => ({ host: num(r.host), guest: num(r.guest), protocol: r.protocol })) as PortMapping[];

/** Domain names are matched in lower case (DNS names are case-insensitive); no list, no field. */
export function toEgress(p: PolicyInput): EgressPolicy {
  const domains = [...new Set(addressList(p.egressDomains).map((d) => d.toLowerCase()))];
  return {
    default: p.egressDefault,
    allow: addressList(p.egressAllow),
    deny: addressList(p.egressDeny),
    ...(domains.length ? { domains } : {}),
  };
}

/** Allow by default with no lists: the API's own default, so there is nothing to send on create. */
export const isOpenEgress = (e: EgressPolicy) =>
  e.default === 'allow' && !e.allow.length && !e.deny.length && !e.domains?.length;

export const toBandwidth = (s: string): number | undefined => num(s);

const whole = (s: string, min: number, max: number) =>
  /^\d+$/.test(s.trim()) && Number(s) >= min && Number(s) <= max;

/**
 * Plain-words checks made before the contract's schema runs (whose words for these are terse):
 * port numbers per row, each egress entry an IPv4 address or CIDR, a whole bandwidth. Keys are
 * the schema's (`ports.0`, `egress.allow`, `bandwidthMbit`).
 */
export function checkPolicy(p: PolicyInput, { ports = true } = {}): FieldErrors {
  const errors: FieldErrors = {};
  if (ports) {
    p.ports.forEach((r, i) => {
      const msgs = [
        !whole(r.host, 1, 65535) && 'host port: a whole number from 1 to 65535',
        !whole(r.guest, 1, 65535) && 'guest port: a whole number from 1 to 65535',
      ].filter((m): m is string => !!m);
      if (msgs.length) errors[`ports.${i}`] = msgs;
    });
    const keys = p.ports.filter((r) => r.host.trim()).map((r) => `${Number(r.host)}/${r.protocol}`);
    const twice = [...new Set(keys.filter((k, i) => keys.indexOf(k) !== i))];
    if (twice.length)
      errors.ports = twice.map((k) => `${k} is published twice: each host port and protocol at most once`);
  }
  for (const list of ['allow', 'deny'] as const) {
    const text = list === 'allow' ? p.egressAllow : p.egressDeny;
    const bad = addressList(text).filter((a) => !Ipv4Cidr.or(Ipv4).safeParse(a).success);
    if (bad.length)
      errors[`egress.${list}`] = bad.map((a) => `"${a}" is not an IPv4 address or CIDR such as 10.0.0.0/8`);
  }
  const names = addressList(p.egressDomains).map((d) => d.toLowerCase());
  const badNames = names.filter((d) => !DomainPattern.safeParse(d).success);
  if (badNames.length)
    errors['egress.domains'] = badNames.map(
      (d) => `"${d}" is not a domain name such as example.com, or *.example.com for the names under it`,
    );
  else if (names.length && p.egressDefault !== 'deny')
    errors['egress.domains'] = [
      'allowed domains need the default "Deny everything not allowed" (the rest is allowed anyway)',
    ];
  if (p.bandwidthMbit.trim() && !whole(p.bandwidthMbit, 1, 100_000))
    errors.bandwidthMbit = ['a whole number of Mbit/s from 1 to 100000'];
  return errors;
}

const ipInt = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);

/** Why `ip` cannot be asked for on `net` (as far as the page can tell), or null. */
export function nicIpProblem(ip: string, net: Network | undefined): string | null {
  if (!Ipv4.safeParse(ip).success) return 'an IPv4 address such as 10.0.0.5';
  if (!net) return null;
  if (!net.cidr) return `network ${net.name} has no subnet: the guest gets its address by DHCP`;
  const [base = '', bits = '32'] = net.cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  const first = Math.floor(ipInt(base) / size) * size;
  const n = ipInt(ip);
  if (n < first || n >= first + size) return `not inside ${net.name}'s subnet ${net.cidr}`;
  if (n === first || n === first + size - 1)
    return `the network or broadcast address of ${net.cidr}, which no VM can have`;
  if (ip === net.gateway) return `the gateway's address on ${net.name}`;
  return null;
}

/** NICs: one to four, each network once, fixed addresses inside their network's subnet. */
export function checkNics(nics: NicRow[], networks: readonly Network[] | undefined): FieldErrors {
  const errors: FieldErrors = {};
  const list: string[] = [];
  if (!nics.length) list.push('at least one NIC');
  if (nics.length > MAX_NICS) list.push(`at most ${MAX_NICS} NICs`);
  const seen = new Set<string>();
  nics.forEach((n, i) => {
    if (!n.network) errors[`networks.${i}`] = ['choose a network'];
    else if (seen.has(n.network)) list.push(`${n.network} is chosen twice: each network at most once`);
    seen.add(n.network);
    const ip = n.ip.trim();
    const problem =
      ip &&
      nicIpProblem(
        ip,
        networks?.find((x) => x.name === n.network),
      );
    if (problem) errors[`networks.${i}`] = [problem];
  });
  if (list.length) errors.networks = list;
  return errors;
}

/**
 * The API says which address was refused (`NETWORK_IP_UNAVAILABLE`: "10.0.0.5 is taken"): that
 * message goes next to the NIC that asked for it rather than under the whole list.
 */
export function pinNicErrors(errors: FieldErrors, nics: NicRow[]): FieldErrors {
  const out: FieldErrors = { ...errors };
  const rest: string[] = [];
  for (const m of errors.networks ?? []) {
    const i = nics.findIndex((n) => n.ip.trim() && m.startsWith(`${n.ip.trim()} `));
    if (i >= 0) out[`networks.${i}`] = [...(out[`networks.${i}`] ?? []), m];
    else rest.push(m);
  }
  if (rest.length) out.networks = rest;
  else delete out.networks;
  return out;
}

/** NICs in one line: `default, web-iso (10.0.0.5)`. */
export const nicRowsText = (nics: NicRow[]) =>
  nics.map((n) => (n.ip.trim() ? `${n.network} (${n.ip.trim()})` : n.network)).join(', ');
