import { DomainPattern, Ipv4Cidr, parseSize, type EgressPolicy, type PortMapping } from '@hearth/contract';
import { UsageError } from './usage-error.ts';

/**
 * `hearth create` flags as vmsan spells them: `--publish-port 8080,3000`, `--network-policy
 * allow-all|deny-all|custom`, `--allowed-domain`, `--allowed-cidr`, `--denied-cidr`,
 * `--bandwidth 50mbit`, `--disk 10gb`, `--timeout 2h30m`. Each turns into the fields of the
 * create body that Hearth's own flags fill.
 */

/** Collects a comma-separated list flag given once or repeated. */
export const commaList = (v: string, prev: string[] = []): string[] => [
  ...prev,
  ...v
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean),
];

/** `--publish-port 8080,3000`: each guest port published on the same host port (TCP), as vmsan does. */
export function parsePublishPorts(items: string[]): PortMapping[] {
  return items.map((item) => {
    const port = /^\d{1,5}$/.test(item) ? Number(item) : NaN;
    if (!(port >= 1 && port <= 65535)) {
      throw new UsageError(`--publish-port ${item} is not a port (1-65535); list ports like 8080,3000.`);
    }
    return { host: port, guest: port, protocol: 'tcp' };
  });
}

export const NETWORK_POLICIES = ['allow-all', 'deny-all', 'custom'] as const;

/**
 * `--network-policy` with the domain and CIDR lists, as vmsan reads them: allow-all (the default)
 * becomes custom as soon as a list is given; deny-all takes no list. Under custom, allowed domains
 * or CIDRs mean everything else is denied; denied CIDRs alone keep the rest allowed.
 * Undefined when none of these flags was given.
 */
export function vmsanEgress(o: {
  networkPolicy?: string;
  allowedDomain?: string[];
  allowedCidr?: string[];
  deniedCidr?: string[];
}): EgressPolicy | undefined {
  const domains = (o.allowedDomain ?? []).map((d) => d.toLowerCase());
  const allow = o.allowedCidr ?? [];
  const deny = o.deniedCidr ?? [];
  if (o.networkPolicy === undefined && !domains.length && !allow.length && !deny.length) return undefined;
  const policy = o.networkPolicy ?? 'allow-all';
  if (!(NETWORK_POLICIES as readonly string[]).includes(policy)) {
    throw new UsageError(`--network-policy ${policy} must be one of ${NETWORK_POLICIES.join(', ')}.`);
  }
  for (const d of domains) {
    if (!DomainPattern.safeParse(d).success) {
      throw new UsageError(
        `--allowed-domain ${d} is not a domain name (example.com, or *.example.com for the names under it).`,
      );
    }
  }
  for (const [flag, list] of [
    ['--allowed-cidr', allow],
    ['--denied-cidr', deny],
  ] as const) {
    for (const c of list) {
      if (!Ipv4Cidr.safeParse(c).success)
        throw new UsageError(`${flag} ${c} is not an IPv4 CIDR such as 10.0.0.0/8.`);
    }
  }
  if (policy === 'deny-all' && (domains.length || allow.length || deny.length)) {
    throw new UsageError(
      '--network-policy deny-all takes no --allowed-domain, --allowed-cidr or --denied-cidr; use --network-policy custom to allow some destinations.',
    );
  }
  if (policy === 'allow-all' && !domains.length && !allow.length && !deny.length) {
    return { default: 'allow', allow: [], deny: [] };
  }
  if (policy === 'deny-all') return { default: 'deny', allow: [], deny: [] };
  // Custom (or allow-all promoted by a list): whatever is allowed by name or CIDR is all that is
  // allowed; with only denied CIDRs the rest stays open; custom with no list at all allows nothing.
  const closed = domains.length > 0 || allow.length > 0 || !deny.length;
  return {
    default: closed ? 'deny' : 'allow',
    allow,
    deny,
    ...(domains.length ? { domains: [...new Set(domains)] } : {}),
  };
}

const RATE: Record<string, number> = { kbit: 0.001, k: 0.001, mbit: 1, m: 1, gbit: 1000, g: 1000 };

/** `--bandwidth 50mbit` (also kbit, gbit; a bare number is Mbit/s) in whole Mbit/s. */
export function parseBandwidth(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(kbit|mbit|gbit|k|m|g)?$/i.exec(v.trim());
  const mbit = m ? Number(m[1]) * RATE[(m[2] ?? 'mbit').toLowerCase()]! : NaN;
  if (!Number.isInteger(mbit) || mbit < 1) {
    throw new UsageError(
      `--bandwidth ${v} must be a whole number of Mbit/s of at least 1, such as 50mbit, 1gbit or 2000kbit.`,
    );
  }
  return mbit;
}

/** `--disk 10gb` (any size Hearth reads; a bare number is GB, as vmsan reads it). */
export function parseDisk(v: string): string {
  const size = /^\d+$/.test(v.trim()) ? `${v.trim()}gb` : v;
  if (parseSize(size) === null) throw new UsageError(`--disk ${v} is not a size (try 10gb).`);
  return size;
}

const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/**
 * `--timeout 2h30m` (vmsan's compound durations; 30s, 5m, 1h as before) written as the API's
 * single-unit duration in the largest unit that keeps it whole: `150m`.
 */
export function parseTimeout(v: string): string {
  const parts = [...v.trim().matchAll(/(\d+)(ms|d|h|m|s)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== v.trim()) {
    throw new UsageError(`--timeout ${v} is not a duration (such as 30s, 5m, 1h or 2h30m).`);
  }
  const ms = parts.reduce((t, p) => t + Number(p[1]) * UNIT_MS[p[2]!]!, 0);
  if (ms <= 0) throw new UsageError(`--timeout ${v} must be longer than zero.`);
  const unit = (['d', 'h', 'm', 's', 'ms'] as const).find((u) => ms % UNIT_MS[u]! === 0)!;
  return `${ms / UNIT_MS[unit]!}${unit}`;
}
