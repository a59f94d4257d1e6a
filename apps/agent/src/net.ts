import { createHash } from 'node:crypto';
import { access, readFile, writeFile } from 'node:fs/promises';
import { HearthError } from '@hearth/contract';
import { sh } from './exec.ts';

/** TAP names are derived from the VM id so that leftovers can be matched to their VM. */
export function tapName(vmId: string): string {
  return 'htap' + createHash('sha256').update(vmId).digest('hex').slice(0, 10);
}

/** Reads sysfs instead of spawning `ip`: this sits on the boot path. */
async function linkExists(name: string): Promise<boolean> {
  return access(`/sys/class/net/${name}`).then(
    () => true,
    () => false,
  );
}

/** nftables table name owned by one bridge: masquerade for its subnet, nothing else. */
export function natTable(bridge: string): string {
  return `hearth_${bridge.replace(/[^a-zA-Z0-9_]/g, '_')}`;
}

/**
 * Text for one `nft -f` that removes tables whether or not they exist (declaring an empty table
 * first makes the delete succeed either way).
 */
export function dropTablesText(tables: [family: 'ip' | 'inet' | 'netdev', name: string][]): string {
  return tables.map(([f, t]) => `table ${f} ${t} {}\ndelete table ${f} ${t}\n`).join('');
}

/** nftables table owning one VM's published ports; named from the VM id so leftovers are ours to match. */
export function portTable(vmId: string): string {
  return 'hearth_vm_' + createHash('sha256').update(vmId).digest('hex').slice(0, 12);
}

export interface PublishedPort {
  host: number;
  guest: number;
  protocol: 'tcp' | 'udp';
}

/** Where a VM's published ports lead: its address, and the bridge that address sits on. */
export interface PortTarget {
  ip: string;
  bridge: string;
}

/**
 * The chain of a port table that guards the VM's bridge while loopback forwarding is on; named
 * after the bridge (hex: interface names may hold characters nft names may not), so that one
 * listing tells which bridges still have a published port.
 */
const guardChain = (bridge: string) => `loopback_${Buffer.from(bridge).toString('hex')}`;

/**
 * The nft text of a VM's port table: DNAT for traffic addressed to one of this host's own
 * addresses, from outside (prerouting) and from the host itself (output), 127.0.0.1 included.
 * Loopback needs three things together: `route_localnet` on the bridge (else the kernel refuses to
 * route a 127.0.0.0/8 source out of it), a masquerade of that source to the bridge's address (else
 * the guest would answer to its own loopback), and a guard that drops anything arriving from the
 * bridge for 127.0.0.0/8 before NAT (else a guest could reach services the host binds to
 * loopback). Replies of forwarded connections still carry the bridge's address at that point.
 */
export function portsText(vmId: string, to: PortTarget, ports: PublishedPort[]): string {
  const table = portTable(vmId);
  const dnat = ports.map(
    (p) => `    fib daddr type local ${p.protocol} dport ${p.host} dnat to ${to.ip}:${p.guest}`,
  );
  const masquerade = [
    ...new Set(
      ports.map(
        (p) =>
          `    ip saddr 127.0.0.0/8 ip daddr ${to.ip} ${p.protocol} dport ${p.guest} ct status dnat masquerade`,
      ),
    ),
  ];
  return (
    [
      dropTablesText([['ip', table]]).trimEnd(),
      `table ip ${table} {`,
      `  chain prerouting {`,
      `    type nat hook prerouting priority dstnat; policy accept;`,
      ...dnat,
      `  }`,
      `  chain output {`,
      `    type nat hook output priority -100; policy accept;`,
      ...dnat,
      `  }`,
      `  chain postrouting {`,
      `    type nat hook postrouting priority srcnat; policy accept;`,
      ...masquerade,
      `  }`,
      `  chain ${guardChain(to.bridge)} {`,
      `    type filter hook prerouting priority mangle; policy accept;`,
      `    iifname ${JSON.stringify(to.bridge)} ip daddr 127.0.0.0/8 drop`,
      `  }`,
      `}`,
    ].join('\n') + '\n'
  );
}

/**
 * Port tables and route_localnet change one at a time in this process: a removal decides from
 * the tables present whether its bridge still needs loopback routing.
 */
let queue: Promise<unknown> = Promise.resolve();
function serial<T>(fn: () => Promise<T>): Promise<T> {
  const run = queue.then(fn, fn);
  queue = run.catch(() => undefined);
  return run;
}

const localnetPath = (bridge: string) => `/proc/sys/net/ipv4/conf/${bridge}/route_localnet`;

/**
 * Forwards host ports to the VM (see portsText), in a table of the VM's own, replaced atomically;
 * loopback routing is switched on for the bridge only once the table with its guard is in place.
 */
export async function applyPorts(vmId: string, to: PortTarget, ports: PublishedPort[]): Promise<void> {
  if (!ports.length) return removePorts(vmId);
  await checkPortsFree(ports);
  await serial(async () => {
    await sh(['nft', '-f', '-'], portsText(vmId, to, ports));
    await writeFile(localnetPath(to.bridge), '1');
  });
}

/**
 * Refuses ports a process on the host listens on: a forward would shadow a service of the host
 * itself (the agent's own API, sshd, …). Reads /proc only, so a boot checks before its VMM starts.
 */
export async function checkPortsFree(ports: PublishedPort[]): Promise<void> {
  if (!ports.length) return;
  const busy = await hostListeners();
  const clash = ports.find((p) => busy.has(`${p.host}/${p.protocol}`));
  if (clash) {
    throw new HearthError(
      'PORT_TAKEN',
      `Publishing port ${clash.host}/${clash.protocol} failed: a process on the host listens on it.`,
    );
  }
}

/** Ports with a listening (TCP) or bound (UDP) socket on this host, from /proc/net. */
async function hostListeners(): Promise<Set<string>> {
  const out = new Set<string>();
  for (const [file, proto, state] of [
    ['tcp', 'tcp', '0A'],
    ['tcp6', 'tcp', '0A'],
    ['udp', 'udp', '07'],
    ['udp6', 'udp', '07'],
  ] as const) {
    const text = await readFile(`/proc/net/${file}`, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] !== state) continue;
      const port = parseInt(cols[1]?.split(':')[1] ?? '', 16);
      if (port) out.add(`${port}/${proto}`);
    }
  }
  return out;
}

/** Names of the port tables that exist now, in one `nft` call (start-up repair). */
export async function presentPortTables(): Promise<Set<string>> {
  const listing = await sh(['nft', 'list', 'tables']).catch(() => '');
  return new Set([...listing.matchAll(/^table ip (hearth_vm_[0-9a-f]{12})$/gm)].map((m) => m[1]!));
}

/**
 * Removes the VM's port table. When it was the last one with a port on its bridge, loopback
 * routing on that bridge goes off first, so that it is never on without the guard.
 */
export function removePorts(vmId: string): Promise<void> {
  return serial(async () => {
    const table = portTable(vmId);
    const listing = await sh(['nft', 'list', 'chains', 'ip']).catch(() => null);
    const guarded = guardedBridges(listing ?? '');
    if (listing !== null && !guarded.has(table)) return;
    for (const bridge of guarded.get(table) ?? []) {
      const elsewhere = [...guarded].some(([t, bridges]) => t !== table && bridges.has(bridge));
      if (!elsewhere) await writeFile(localnetPath(bridge), '0').catch(() => undefined);
    }
    await sh(['nft', 'delete', 'table', 'ip', table]).catch(() => undefined);
  });
}

/** Port table → the bridges it guards (none for tables of older agents), from `nft list chains ip`. */
export function guardedBridges(listing: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  let bridges: Set<string> | null = null;
  for (const line of listing.split('\n')) {
    const t = /^table ip (hearth_vm_[0-9a-f]{12}) \{$/.exec(line);
    if (t) out.set(t[1]!, (bridges = new Set()));
    else if (line.startsWith('table ')) bridges = null;
    const c = /^\s*chain loopback_([0-9a-f]+) \{$/.exec(line);
    if (c && bridges) bridges.add(Buffer.from(c[1]!, 'hex').toString());
  }
  return out;
}

export { linkExists };
