import { readFile, writeFile } from 'node:fs/promises';
import { HearthError, NET_FEATURE_NAMES, networkHostNeeds, type AgentNetwork } from '@hearth/contract';
import { bridgeName, idHash } from '@hearth/contract/host-names';
import { sh } from './exec.ts';
import { ensureDns, stopDns } from './dns.ts';
import { dropTablesText, linkExists, natTable } from './net.ts';
import { networkRulesText } from './net/bridge-rules.ts';

/**
 * Networks on one host: a Linux bridge per network, plus by mode an address and NAT (nat), a
 * host interface (bridged), a VXLAN device (vxlan). Every link and table made here carries a
 * label naming the network and this host, so start-up can tell ours from anyone else's.
 */

export const vxlanDev = (networkId: string) => `hvx${idHash(networkId)}`;
export const bridgeFor = bridgeName;

/**
 * `hearth:<kind>:<owner id>:<host id>`: kept in link aliases and nft table comments. The host id
 * (the agent's registration) is unique where agent names are not: two agents on one machine
 * both default to its hostname, and must not sweep each other's objects.
 */
export const label = (kind: 'net' | 'vm', id: string, agent: string) => `hearth:${kind}:${id}:${agent}`;

export interface NetContext {
  /** This agent's host id: part of every label. */
  agent: string;
  /** Address other hosts reach this one on (VXLAN's local end). */
  underlay: string | null;
  dnsUpstream: string[];
  /** Feature names from the host probe that are supported (`net-vxlan`, …). */
  features: ReadonlySet<string>;
}

/** What a network needs from the host kernel, by the probe's names: a bridge, and more by mode. */
export function requiredFeatures(n: Pick<AgentNetwork, 'mode' | 'vlan'>): string[] {
  return networkHostNeeds(n).features;
}

export function checkFeatures(n: AgentNetwork, have: ReadonlySet<string>): void {
  const missing = requiredFeatures(n).filter((f) => !have.has(f));
  if (missing.length) {
    throw new HearthError(
      'NETWORK_FEATURE_MISSING',
      `Network ${n.name} (${n.mode}${n.vlan !== null ? `, VLAN ${n.vlan}` : ''}) cannot be built on this host: its kernel lacks ${missing.map((f) => NET_FEATURE_NAMES[f] ?? f).join(' and ')}.`,
    );
  }
}

/** Commands that put a bridge port on a VLAN: the uplink tagged, a VM's TAP untagged with that PVID. */
export function vlanPortCommands(bridge: string, port: string, vlan: number, uplink: boolean): string[][] {
  return uplink
    ? [['bridge', 'vlan', 'add', 'dev', port, 'vid', String(vlan)]]
    : [
        ['bridge', 'vlan', 'del', 'dev', port, 'vid', '1'],
        ['bridge', 'vlan', 'add', 'dev', port, 'vid', String(vlan), 'pvid', 'untagged'],
      ];
}

/** Addresses other than IPv6 link-local: an interface with any is in use by the host. */
async function addressesOf(dev: string): Promise<string[]> {
  const out = await sh(['ip', '-o', 'addr', 'show', 'dev', dev]).catch(() => '');
  return [...out.matchAll(/inet6? (\S+)/g)].map((m) => m[1]!).filter((a) => !a.startsWith('fe80:'));
}

async function ipv4Of(dev: string): Promise<string[]> {
  const out = await sh(['ip', '-o', '-4', 'addr', 'show', 'dev', dev]).catch(() => '');
  return [...out.matchAll(/inet (\S+)/g)].map((m) => m[1]!);
}

async function masterOf(dev: string): Promise<string | null> {
  const out = await sh(['ip', '-o', 'link', 'show', 'dev', dev]).catch(() => '');
  return /\smaster (\S+)/.exec(out)?.[1] ?? null;
}

/** Writes a sysctl-style file when it holds something else (no process spawned). */
async function setProc(path: string, value: string): Promise<void> {
  const now = await readFile(path, 'utf8').catch(() => null);
  if (now !== null && now.trim() !== value) await writeFile(path, value);
}

const locks = new Map<string, Promise<unknown>>();

/** One change at a time per network: two VMs booting at once must not both create its bridge. */
function locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const run = (locks.get(key) ?? Promise.resolve()).then(fn, fn);
  const tail = run.catch(() => undefined);
  locks.set(key, tail);
  void tail.then(() => {
    if (locks.get(key) === tail) locks.delete(key);
  });
  return run;
}

/** What this process last built per bridge: a VM boot on an unchanged network spawns nothing. */
const built = new Map<string, string>();

/** Builds (or repairs) a network on this host; idempotent and cheap when everything is in place. */
export function ensureNetwork(n: AgentNetwork, ctx: NetContext): Promise<void> {
  return locked(n.bridge, async () => {
    const sig = JSON.stringify([n, ctx.underlay, ctx.dnsUpstream]);
    if (built.get(n.bridge) === sig && (await linkExists(n.bridge))) {
      // The forwarder is the one part that can die on its own; checking it reads two files.
      if (n.dnsForwarder && n.gateway) await ensureDns(n.bridge, n.gateway, ctx.dnsUpstream);
      return;
    }
    built.delete(n.bridge);
    await build(n, ctx);
    built.set(n.bridge, sig);
  });
}

async function build(n: AgentNetwork, ctx: NetContext): Promise<void> {
  checkFeatures(n, ctx.features);
  const br = n.bridge;
  const lbl = label('net', n.id, ctx.agent);
  if (n.mode === 'bridged') {
    if (!n.interface || !(await linkExists(n.interface))) {
      throw new HearthError(
        'NETWORK_INTERFACE_MISSING',
        `Network ${n.name} bridges interface ${n.interface ?? '(none)'}, which this host does not have.`,
      );
    }
    const master = await masterOf(n.interface);
    if (master !== br && (master || (await addressesOf(n.interface)).length)) {
      throw new HearthError(
        'NETWORK_INTERFACE_BUSY',
        master
          ? `Network ${n.name} cannot take interface ${n.interface}: it is already a port of ${master}.`
          : `Network ${n.name} cannot take interface ${n.interface}: it carries addresses the host uses.`,
      );
    }
  }
  if (n.mode === 'vxlan' && !ctx.underlay) {
    throw new HearthError(
      'NETWORK_FEATURE_MISSING',
      `Network ${n.name} is VXLAN, but this agent has no underlay address (agent option --underlay).`,
    );
  }
  const batch: string[] = [];
  if (!(await linkExists(br))) {
    batch.push(`link add name ${br} type bridge${n.vlan !== null ? ' vlan_filtering 1' : ''}`);
  }
  batch.push(`link set dev ${br} alias ${lbl}`);
  if (n.mode === 'bridged' && n.interface) batch.push(`link set dev ${n.interface} master ${br} up`);
  if (n.mode === 'vxlan' && n.vxlan) {
    const vx = vxlanDev(n.id);
    if (!(await linkExists(vx))) {
      batch.push(
        `link add ${vx} type vxlan id ${n.vxlan.vni} dstport ${n.vxlan.port} local ${ctx.underlay} nolearning`,
      );
    }
    batch.push(`link set dev ${vx} alias ${lbl}`, `link set dev ${vx} master ${br} up`);
  }
  batch.push(`link set dev ${br} up`);
  await sh(['ip', '-batch', '-'], batch.join('\n') + '\n');
  // Bridges without a host address carry no IPv6 for the host either (no link-local way in).
  if (n.mode !== 'nat') await setProc(`/proc/sys/net/ipv6/conf/${br}/disable_ipv6`, '1');
  // Bridged frames must pass the inet hooks, where egress policies and isolation are judged.
  await setProc('/proc/sys/net/bridge/bridge-nf-call-iptables', '1');
  if (n.mode === 'nat' && n.gateway && n.cidr) {
    const cidr = `${n.gateway}/${n.cidr.split('/')[1]}`;
    if (!(await ipv4Of(br)).includes(cidr)) await sh(['ip', 'addr', 'add', cidr, 'dev', br]);
    const forward = await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8').catch(() => '0');
    if (forward.trim() !== '1') await writeFile('/proc/sys/net/ipv4/ip_forward', '1');
  }
  if (n.vlan !== null && n.interface) {
    for (const argv of vlanPortCommands(br, n.interface, n.vlan, true)) await sh(argv);
  }
  if (n.mode === 'vxlan' && n.vxlan) await syncFdb(vxlanDev(n.id), n.vxlan.remotes);
  await sh(['nft', '-f', '-'], networkRulesText(n, lbl));
  if (n.dnsForwarder && n.gateway) await ensureDns(br, n.gateway, ctx.dnsUpstream);
}

/** Flooding entries (all-zero MAC) towards every other host of the VXLAN network, and no others. */
async function syncFdb(dev: string, remotes: string[]): Promise<void> {
  const out = await sh(['bridge', 'fdb', 'show', 'dev', dev]);
  const have = new Set([...out.matchAll(/^00:00:00:00:00:00 dst (\S+)/gm)].map((m) => m[1]!));
  for (const r of remotes) {
    if (!have.has(r)) await sh(['bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', dev, 'dst', r]);
  }
  for (const r of have) {
    if (!remotes.includes(r)) {
      await sh(['bridge', 'fdb', 'del', '00:00:00:00:00:00', 'dev', dev, 'dst', r]).catch(() => undefined);
    }
  }
}

/** Removes everything a network has on this host: forwarder, rules, tunnel, bridge (which frees its uplink). */
export function teardownNetwork(n: Pick<AgentNetwork, 'id' | 'bridge'>): Promise<void> {
  built.delete(n.bridge);
  return locked(n.bridge, () => teardown(n));
}

async function teardown(n: Pick<AgentNetwork, 'id' | 'bridge'>): Promise<void> {
  await stopDns(n.bridge);
  const t = natTable(n.bridge);
  await sh(
    ['nft', '-f', '-'],
    dropTablesText([
      ['ip', t],
      ['inet', t],
    ]),
  ).catch(() => undefined);
  const vx = vxlanDev(n.id);
  if (await linkExists(vx)) await sh(['ip', 'link', 'del', 'dev', vx]).catch(() => undefined);
  if (await linkExists(n.bridge)) await sh(['ip', 'link', 'del', 'dev', n.bridge]).catch(() => undefined);
}

/** The agent's configured default NAT bridge, built at start-up before any VM asks for it. */
export function ensureBridge(
  cfg: { bridge: string; gatewayCidr: string; subnet: string },
  agent: string,
): Promise<void> {
  return ensureNetwork(
    {
      id: 'default',
      name: 'default',
      mode: 'nat',
      bridge: cfg.bridge,
      cidr: cfg.subnet,
      gateway: cfg.gatewayCidr.split('/')[0]!,
      dnsForwarder: false,
      interface: null,
      vlan: null,
      vxlan: null,
      allowMetadata: false,
    },
    { agent, underlay: null, dnsUpstream: [], features: new Set(['net-bridge', 'net-nat']) },
  );
}

/** Removes a bridge with its rules and DNS forwarder (tests; `hearth up` keeps its bridge). */
export function removeBridge(bridge: string): Promise<void> {
  return teardownNetwork({ id: 'default', bridge });
}
