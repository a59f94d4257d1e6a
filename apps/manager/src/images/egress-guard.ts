import { lookup as dnsLookup } from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import ipaddr from 'ipaddr.js';
import { HearthError } from '@hearth/contract';

type Addr = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * Where imports may connect. Every address a name resolves to is checked, on every redirect hop;
 * only public unicast addresses pass unless the operator listed the destination. A listed entry
 * is a CIDR or an address (any port), or `host:port` / `[v6]:port` (that port only; a host name
 * there is matched as written in the URL or reference, before resolution).
 */
export class ImportAllowList {
  private readonly cidrs: [Addr, number][] = [];
  private readonly exact = new Set<string>();

  constructor(readonly entries: readonly string[] = []) {
    for (const raw of entries.map((e) => e.trim()).filter(Boolean)) {
      if (raw.includes('/')) {
        this.cidrs.push(ipaddr.parseCIDR(raw));
      } else if (ipaddr.isValid(raw)) {
        const a = ipaddr.process(raw);
        this.cidrs.push([a, a.kind() === 'ipv4' ? 32 : 128]);
      } else {
        const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(raw);
        if (!m) throw new Error(`"${raw}" is not a CIDR, an address or host:port`);
        this.exact.add(`${normalHost(m[1]!)}:${m[2]}`);
      }
    }
  }

  /** Parses HEARTH_IMPORT_ALLOW (comma-separated). */
  static fromEnv(value: string | undefined): ImportAllowList {
    return new ImportAllowList((value ?? '').split(','));
  }

  /** The destination as written (host name or address) with its port is listed. */
  allowsName(host: string, port: number): boolean {
    return this.exact.has(`${normalHost(host)}:${port}`);
  }

  /** A resolved address is inside a listed range, or listed with this port. */
  allowsAddress(address: string, port: number): boolean {
    const a = ipaddr.process(address);
    if (this.exact.has(`${a.toString()}:${port}`)) return true;
    return this.cidrs.some(([net, bits]) => net.kind() === a.kind() && a.match(net, bits));
  }
}

function normalHost(host: string): string {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return ipaddr.isValid(bare) ? ipaddr.process(bare).toString() : bare;
}

/** Why an address is not an import destination, or null for a public unicast address. */
export function specialRange(address: string): string | null {
  if (!ipaddr.isValid(address)) return 'not an IP address';
  const a = ipaddr.process(address);
  const range = a.range();
  if (range !== 'unicast') return range;
  // IPv4-compatible IPv6 (::a.b.c.d, deprecated) reaches nothing public.
  if (a.kind() === 'ipv6' && a.match(ipaddr.parseCIDR('::/96'))) return 'ipv4Compatible';
  return null;
}

/** `linkLocal` → `link-local`, for messages. */
const words = (range: string) => range.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function refused(what: string, host: string, address: string, range: string): HearthError {
  return new HearthError(
    'IMAGE_SOURCE_ADDRESS_REFUSED',
    `${what} failed: ${host} is ${address === host ? 'a' : `${address}, a`} ${words(range)} address, which imports do not reach.`,
    { detail: { host, address, range } },
  );
}

/** Checks one destination (an address, or a name with its resolved addresses). */
export function checkDestination(
  allow: ImportAllowList,
  what: string,
  host: string,
  port: number,
  addresses: string[],
): void {
  if (allow.allowsName(host, port)) return;
  for (const address of addresses) {
    if (allow.allowsAddress(address, port)) continue;
    const range = specialRange(address);
    if (range) throw refused(what, host, address, range);
  }
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for http.request / net.connect: resolves the name, checks every address it resolved
 * to, and hands the socket the checked addresses only, so the connection goes where the check
 * looked (a second resolution that answers differently — DNS rebinding — is never made).
 */
function guardedLookup(allow: ImportAllowList, what: string, port: number) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      try {
        checkDestination(
          allow,
          what,
          hostname,
          port,
          addresses.map((a) => a.address),
        );
      } catch (e) {
        return callback(e as NodeJS.ErrnoException, []);
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}

/** Resolves and checks a destination before a tool that connects by itself is started. */
export async function checkHostBeforeConnect(
  allow: ImportAllowList,
  what: string,
  host: string,
  port: number,
): Promise<void> {
  const bare = host.replace(/^\[|\]$/g, '');
  if (allow.allowsName(bare, port)) return;
  const addresses = await resolveAll(bare).catch(() => null);
  // A name that does not resolve is left to the tool, which reports it as unreachable.
  if (addresses)
    checkDestination(
      allow,
      what,
      bare,
      port,
      addresses.map((a) => a.address),
    );
}

/** Every address of a name (an address literal stands for itself). */
function resolveAll(bare: string): Promise<LookupAddress[]> {
  if (ipaddr.isValid(bare)) {
    const ip = ipaddr.process(bare);
    return Promise.resolve([{ address: ip.toString(), family: ip.kind() === 'ipv4' ? 4 : 6 }]);
  }
  return new Promise((resolve, reject) =>
    dnsLookup(bare, { all: true }, (err, list) => (err ? reject(err) : resolve(list))),
  );
}

/**
 * Resolves a destination once and checks every address it resolved to; the caller connects to
 * one of the returned addresses only (never resolving again). Throws IMAGE_SOURCE_ADDRESS_REFUSED,
 * or the resolver's own error for a name that does not resolve.
 */
export async function resolveChecked(
  allow: ImportAllowList,
  what: string,
  host: string,
  port: number,
): Promise<LookupAddress[]> {
  const bare = host.replace(/^\[|\]$/g, '');
  const addresses = await resolveAll(bare);
  checkDestination(
    allow,
    what,
    bare,
    port,
    addresses.map((a) => a.address),
  );
  return addresses;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;

/**
 * GET an import URL: every hop (the URL and each redirect) is checked by `check` (scheme, no
 * credentials) and by the address guard, connecting only to the addresses checked.
 */
export async function guardedGet(
  start: URL,
  opts: { allow: ImportAllowList; what: string; signal: AbortSignal; check: (href: string) => URL },
): Promise<IncomingMessage> {
  let url = start;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    // Sockets skip `lookup` for an address literal: check it here.
    if (ipaddr.isValid(host)) checkDestination(opts.allow, opts.what, host, port, [host]);
    const get = url.protocol === 'https:' ? httpsGet : httpGet;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = get(
        url,
        { agent: false, signal: opts.signal, lookup: guardedLookup(opts.allow, opts.what, port) },
        resolve,
      );
      req.on('error', reject);
    });
    const location = res.headers.location;
    if (!REDIRECTS.has(res.statusCode ?? 0) || !location) return res;
    res.resume();
    url = opts.check(new URL(location, url).href);
  }
  throw new HearthError('IMAGE_IMPORT_FAILED', `${opts.what} failed: more than ${MAX_REDIRECTS} redirects.`);
}
