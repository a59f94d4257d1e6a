import type { Logger } from 'pino';
import type { AgentNic } from '@hearth/contract';
import type { HostRow } from '../../store/mappers.ts';
import type { Stores } from '../../store/index.ts';
import type { NetworkRow } from '../../store/networks.ts';
import type { AgentClient } from '../agent-client.ts';
import { nicDnsNames } from './dns-names.ts';
import { parseCidr } from './ipam.ts';

/** What the agents see of networks: a network as a host builds it, a VM's NICs, overlay peers. */
export interface AgentNetworkDeps {
  stores: Stores;
  agents: AgentClient;
  log: Logger;
}

/** A network as an agent builds it; `remotes` are the VXLAN peers' underlay addresses. */
export function agentNetwork(n: NetworkRow, remotes: string[]): AgentNic['network'] {
  return {
    id: n.id,
    name: n.name,
    mode: n.mode,
    bridge: n.bridge,
    cidr: n.cidr,
    gateway: n.mode === 'nat' ? n.gateway : null,
    dnsForwarder: n.mode === 'nat' && Boolean(n.gateway) && (n.dns ?? []).includes(n.gateway!),
    interface: n.iface,
    vlan: n.vlan,
    vxlan: n.mode === 'vxlan' ? { vni: n.vni!, port: n.port ?? 4789, remotes } : null,
    allowMetadata: n.allow_metadata,
  };
}

/**
 * The overlay peers of `hostId`: every other host with an underlay address, offline ones too (a
 * host that misses heartbeats and comes back must still be flooded to; a stale entry costs a copy
 * of each flooded frame, nothing more).
 */
const overlayPeers = (hosts: HostRow[], hostId: string): string[] =>
  hosts.filter((h) => h.id !== hostId && h.inventory.underlay).map((h) => h.inventory.underlay!);

/** The VM as its NICs' DNS names need it. */
export interface NicOwner {
  id: string;
  name: string;
  project: string;
  dnsAliases: readonly string[];
}

/**
 * The NICs as the agent on `hostId` needs them: networks with their tunnels' remote ends, and on
 * networks with a DNS forwarder the names it publishes for the VM.
 */
export async function agentNics(stores: Stores, vm: NicOwner, hostId: string): Promise<AgentNic[]> {
  const nics = await stores.networks.nicsOf(vm.id);
  if (!nics.length) return [];
  const remotes = overlayPeers(await stores.hosts.all(), hostId);
  let routed = false;
  const out: AgentNic[] = [];
  for (const nic of nics) {
    const net = await stores.networks.requireUnscoped(nic.network_id);
    // One default route in the guest: the first NIC whose network has a gateway, a DHCP NIC
    // counting as having one (its lease names the router) — the guest agent's rule too.
    const owns = !routed && (Boolean(net.gateway) || nic.source === 'dhcp');
    if (owns) routed = true;
    const network = agentNetwork(net, remotes);
    out.push({
      mac: nic.mac,
      ip: nic.source === 'ipam' ? nic.ip : null,
      prefix: net.cidr ? parseCidr(net.cidr).prefix : null,
      gateway: owns ? net.gateway : null,
      dns: net.dns ?? [],
      network,
      ...(network.dnsForwarder && nic.source === 'ipam' ? nicDnsNames(vm, net) : {}),
    });
  }
  return out;
}

/**
 * VXLAN: each host with VMs on an overlay floods to every other ready host. Called when a host
 * registers, so hosts already carrying the overlay learn the newcomer without a VM restart.
 */
export async function refreshOverlays({ stores, agents, log }: AgentNetworkDeps): Promise<void> {
  const all = await stores.hosts.all();
  // A host that is away gets its overlays when it registers again (this runs then).
  const hosts = all.filter((h) => h.state === 'ready' && agents.live.isLive(h.id));
  for (const net of (await stores.networks.all()).filter((n) => n.mode === 'vxlan')) {
    for (const hostId of await stores.networks.hostsOn(net.id)) {
      const h = hosts.find((x) => x.id === hostId);
      if (!h) continue;
      await agents
        .ensureNetwork(h, agentNetwork(net, overlayPeers(all, hostId)))
        .catch((e: Error) =>
          log.warn({ host: h.name, network: net.name, err: e.message }, 'updating an overlay failed'),
        );
    }
  }
}

/** Every ready host removes what it built for a deleted network (best effort, never waited for). */
export async function tearDownOnHosts(
  { stores, agents, log }: AgentNetworkDeps,
  n: NetworkRow,
): Promise<void> {
  const network = agentNetwork(n, []);
  for (const h of await stores.hosts.all()) {
    // A host that is away sweeps the network when it is back.
    if (h.state !== 'ready' || !agents.live.isLive(h.id)) continue;
    await agents
      .teardownNetwork(h, network)
      .catch((e: Error) =>
        log.warn(
          { host: h.name, network: n.name, err: e.message },
          'removing a network from a host failed; the agent sweeps it at its next start',
        ),
      );
  }
}
