import { createHash } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import { HearthError } from '@hearth/contract';
import { sh } from './exec.ts';

export interface BridgeConfig {
  bridge: string;
  /** gateway address with prefix, e.g. 10.213.0.1/24 */
  gatewayCidr: string;
  subnet: string;
}

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

/**
 * Forwards host ports to the VM: DNAT for traffic addressed to this host (from outside, and from
 * the host itself), in a table of the VM's own, replaced atomically. Loopback (127.0.0.1) is not
 * forwarded: that would need route_localnet on the host.
 */
export async function applyPorts(vmId: string, ip: string, ports: PublishedPort[]): Promise<void> {
  if (!ports.length) return removePorts(vmId);
  // A forward would shadow a service of the host itself (the agent's own API, sshd, …): refuse.
  const busy = await hostListeners();
  const clash = ports.find((p) => busy.has(`${p.host}/${p.protocol}`));
  if (clash) {
    throw new HearthError(
      'PORT_TAKEN',
      `Publishing port ${clash.host}/${clash.protocol} failed: a process on the host listens on it`,
    );
  }
  const table = portTable(vmId);
  const rules = ports.map(
    (p) => `    fib daddr type local ${p.protocol} dport ${p.host} dnat to ${ip}:${p.guest}`,
  );
  const text = [
    dropTablesText([['ip', table]]).trimEnd(),
    `table ip ${table} {`,
    `  chain prerouting {`,
    `    type nat hook prerouting priority dstnat; policy accept;`,
    ...rules,
    `  }`,
    `  chain output {`,
    `    type nat hook output priority -100; policy accept;`,
    ...rules,
    `  }`,
    `}`,
  ].join('\n');
  await sh(['nft', '-f', '-'], text + '\n');
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

export async function removePorts(vmId: string): Promise<void> {
  await sh(['nft', 'delete', 'table', 'ip', portTable(vmId)]).catch(() => undefined);
}

export { linkExists };
