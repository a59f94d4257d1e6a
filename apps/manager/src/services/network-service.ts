import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import {
  HearthError,
  newId,
  networkNeeds,
  type AgentNic,
  type CreateNetworkBody,
  type Lease,
  type Network,
  type NicRequest,
} from '@hearth/contract';
import { isUniqueViolation } from '../db/index.ts';
import type { Stores } from '../store/index.ts';
import { leaseFromRow, type NetworkRow, type NicRow } from '../store/networks.ts';
import type { AgentClient } from './agent-client.ts';
import { checkNetworkBody, inCidr } from './network-checks.ts';
import { ipToInt, macForIp, nextFreeIp, parseCidr } from './ipam.ts';

export interface NicPlan {
  net: NetworkRow;
  ip?: string | undefined;
}

export function networkFromRow(r: NetworkRow): Network {
  return {
    id: r.id,
    name: r.name,
    mode: r.mode,
    cidr: r.cidr,
    gateway: r.gateway,
    dns: r.dns ?? [],
    interface: r.iface,
    vlan: r.vlan,
    vni: r.vni,
    port: r.port,
    bridge: r.bridge,
    isDefault: r.is_default,
    requires: networkNeeds(r),
    vmCount: Number(r.vm_count ?? 0),
    createdAt: new Date(r.created_at).toISOString(),
  };
}

export class NetworkService {
  constructor(private readonly d: { stores: Stores; agents: AgentClient; log: Logger }) {}

  private get s() {
    return this.d.stores;
  }

  /** The default NAT network from the manager's configuration, created on first start. */
  async ensureDefault(cfg: { bridge: string; cidr: string; dns: string } | null): Promise<NetworkRow | null> {
    if (!cfg) return null;
    let row = await this.s.networks.getDefault();
    if (!row) {
      const subnet = parseCidr(cfg.cidr);
      row = await this.s.networks.insert({
        id: newId('net'),
        name: 'default',
        mode: 'nat',
        cidr: subnet.cidr,
        gateway: subnet.gateway,
        dns: [cfg.dns],
        iface: null,
        vlan: null,
        vni: null,
        port: null,
        bridge: cfg.bridge,
        is_default: true,
      });
    } else if (row.bridge !== cfg.bridge || row.cidr !== parseCidr(cfg.cidr).cidr) {
      this.d.log.warn(
        { stored: { bridge: row.bridge, cidr: row.cidr }, configured: cfg },
        'the default network keeps its stored bridge and subnet; the configured ones differ',
      );
    }
    const n = await this.s.networks.backfillDefault(row.id, row.name);
    if (n) this.d.log.info({ vms: n }, 'gave older VMs a NIC on the default network');
    return row;
  }

  async create(body: CreateNetworkBody & { mode: Network['mode'] }): Promise<Network> {
    const mode = body.mode;
    const hosts = (await this.s.hosts.all()).filter((h) => h.state === 'ready');
    const { cidr, gateway } = checkNetworkBody(body, hosts, await this.s.networks.all());
    const id = newId('net');
    try {
      const row = await this.s.networks.insert({
        id,
        name: body.name,
        mode,
        cidr,
        gateway,
        dns: body.dns ?? (mode === 'nat' && gateway ? [gateway] : []),
        iface: body.interface ?? null,
        vlan: body.vlan ?? null,
        vni: body.vni ?? null,
        port: mode === 'vxlan' ? (body.port ?? 4789) : null,
        bridge: `hbr${createHash('sha256').update(id).digest('hex').slice(0, 10)}`,
        is_default: false,
      });
      return networkFromRow(row);
    } catch (e) {
      if (isUniqueViolation(e, 'networks_name_key')) {
        throw new HearthError('NETWORK_NAME_TAKEN', `Creating the network failed: "${body.name}" exists.`, {
          fields: { name: ['already taken'] },
        });
      }
      if (isUniqueViolation(e, 'networks_vni'))
        throw new HearthError('NETWORK_VNI_TAKEN', `Creating the network failed: VNI ${body.vni} is taken.`);
      throw e;
    }
  }

  async get(idOrName: string): Promise<Network> {
    return networkFromRow(await this.s.networks.require(idOrName));
  }

  async list(q: { limit: number; cursor?: string | undefined; mode?: string | undefined }) {
    const page = await this.s.networks.list(q);
    return { items: page.items.map(networkFromRow), nextCursor: page.nextCursor };
  }

  async leases(idOrName: string): Promise<{ items: Lease[] }> {
    const n = await this.s.networks.require(idOrName);
    return { items: (await this.s.networks.leases(n.id)).map(leaseFromRow) };
  }

  /** Deletes the record, then every host removes what it built for the network (best effort). */
  async delete(idOrName: string): Promise<Network> {
    const n = await this.s.networks.require(idOrName);
    if (n.is_default) {
      throw new HearthError(
        'NETWORK_BUILTIN',
        `Deleting network "${n.name}" failed: it is the default network.`,
      );
    }
    const vms = await this.s.networks.vmsOn(n.id);
    if (vms.length) {
      throw new HearthError(
        'NETWORK_IN_USE',
        `Deleting network "${n.name}" failed: ${vms.length} VM(s) use it (${vms.map((v) => v.name).join(', ')}).`,
        { detail: { vms: vms.map((v) => v.name) } },
      );
    }
    try {
      await this.s.networks.delete(n.id);
    } catch (e) {
      // A VM got a NIC on it between the check and the delete.
      if ((e as { code?: string }).code === '23503') {
        throw new HearthError(
          'NETWORK_IN_USE',
          `Deleting network "${n.name}" failed: a VM was just created on it.`,
        );
      }
      throw e;
    }
    const network = this.agentNetwork(n, []);
    for (const h of await this.s.hosts.all()) {
      // Best effort, never waited for: a host that is away sweeps the network when it is back.
      if (h.state !== 'ready' || !this.d.agents.live.isLive(h.id)) continue;
      await this.d.agents
        .json(h, 'POST', '/agent/v1/networks/teardown', { network })
        .catch((e: Error) =>
          this.d.log.warn(
            { host: h.name, network: n.name, err: e.message },
            'removing a network from a host failed; the agent sweeps it at its next start',
          ),
        );
    }
    return networkFromRow({ ...n, vm_count: 0 });
  }

  /** The networks a new VM's NICs go on: `networks`, or `network`, or the default network. */
  async plan(body: {
    network?: string | undefined;
    networks?: NicRequest[] | undefined;
  }): Promise<NicPlan[]> {
    if (body.network !== undefined && body.networks !== undefined) {
      throw new HearthError(
        'VALIDATION_FAILED',
        'Creating the VM failed: give `network` or `networks`, not both.',
        {
          fields: { network: ['not with networks'] },
        },
      );
    }
    const reqs: NicRequest[] = body.networks ?? (body.network !== undefined ? [body.network] : []);
    if (!reqs.length) {
      const def = await this.s.networks.getDefault();
      return def ? [{ net: def }] : [];
    }
    const plans: NicPlan[] = [];
    for (const r of reqs) {
      const ref = typeof r === 'string' ? r : r.network;
      const net = await this.s.networks.require(ref);
      const ip = typeof r === 'string' ? undefined : r.ip;
      if (ip !== undefined) {
        const sub = net.cidr ? parseCidr(net.cidr) : null;
        const n = ipToInt(ip);
        const edge = sub && (n === sub.network || n === sub.network + 2 ** (32 - sub.prefix) - 1);
        if (!net.cidr || !inCidr(ip, net.cidr) || ip === net.gateway || edge) {
          throw new HearthError(
            'NETWORK_IP_UNAVAILABLE',
            `Creating the VM failed: ${ip} is not a free host address of network "${net.name}" (${net.cidr ?? 'DHCP, no subnet'}).`,
            { fields: { networks: [`${ip} outside ${net.cidr ?? 'the network'}`] } },
          );
        }
      }
      if (plans.some((p) => p.net.id === net.id)) {
        throw new HearthError(
          'VALIDATION_FAILED',
          `Creating the VM failed: network "${net.name}" is listed twice.`,
          {
            fields: { networks: ['each network at most once'] },
          },
        );
      }
      plans.push({ net, ip });
    }
    return plans;
  }

  /** What the scheduler must find on a host for these NICs. */
  needs(plans: NicPlan[]): { features: string[]; interfaces: { name: string; bridge: string }[] } {
    return {
      // VXLAN also needs the host's underlay address (agent option --underlay).
      features: [
        ...new Set(
          plans.flatMap((p) => [...networkNeeds(p.net), ...(p.net.mode === 'vxlan' ? ['underlay'] : [])]),
        ),
      ],
      interfaces: plans.flatMap((p) => (p.net.iface ? [{ name: p.net.iface, bridge: p.net.bridge }] : [])),
    };
  }

  /** Gives a VM its NICs: a MAC each and an address from each network's subnet (never duplicated). */
  async allocate(vmId: string, plans: NicPlan[]): Promise<void> {
    if (!plans.length) return;
    for (let attempt = 0; ; attempt++) {
      const nics: NicRow[] = [];
      for (const [idx, p] of plans.entries()) {
        let ip: string | null = null;
        if (p.net.cidr) {
          const used = new Set(await this.s.networks.usedIps(p.net.id));
          if (p.net.gateway) used.add(p.net.gateway);
          if (p.ip !== undefined) {
            if (used.has(p.ip)) {
              throw new HearthError(
                'NETWORK_IP_UNAVAILABLE',
                `Creating the VM failed: ${p.ip} on network "${p.net.name}" is in use.`,
                { fields: { networks: [`${p.ip} is taken`] } },
              );
            }
            ip = p.ip;
          } else {
            ip = nextFreeIp(parseCidr(p.net.cidr), used);
            if (!ip) {
              throw new HearthError(
                'NETWORK_EXHAUSTED',
                `Creating the VM failed: network "${p.net.name}" has no free address left.`,
              );
            }
          }
        }
        const mac = ip
          ? macForIp(ip)
          : // DHCP NICs: a stable locally administered MAC from the VM and NIC index.
            '02:49:' +
            (createHash('sha256').update(`${vmId}/${idx}`).digest('hex').slice(0, 8).match(/../g) ?? []).join(
              ':',
            );
        nics.push({ vm_id: vmId, idx, network_id: p.net.id, mac, ip, source: ip ? 'ipam' : 'dhcp' });
      }
      try {
        await this.s.networks.setNics(
          vmId,
          nics,
          nics.map((n, i) => ({
            network: n.network_id,
            networkName: plans[i]!.net.name,
            mac: n.mac,
            ip: n.ip,
          })),
        );
        return;
      } catch (e) {
        // Two creates raced for the same address: pick again.
        if ((isUniqueViolation(e, 'vm_nics_ip') || isUniqueViolation(e, 'vm_nics_mac_key')) && attempt < 20) {
          if (plans.some((p) => p.ip !== undefined)) {
            throw new HearthError(
              'NETWORK_IP_UNAVAILABLE',
              'Creating the VM failed: the address asked for was taken meanwhile.',
            );
          }
          continue;
        }
        throw e;
      }
    }
  }

  /** The NICs as the agent on `hostId` needs them: networks with their tunnels' remote ends. */
  async agentNics(vmId: string, hostId: string): Promise<AgentNic[]> {
    const nics = await this.s.networks.nicsOf(vmId);
    if (!nics.length) return [];
    const hosts = await this.s.hosts.all();
    let routed = false;
    const out: AgentNic[] = [];
    for (const nic of nics) {
      const net = await this.s.networks.require(nic.network_id);
      // Every other host, offline ones too: a host that misses heartbeats and comes back must
      // still be flooded to (a stale entry costs a copy of each flooded frame, nothing more).
      const remotes = hosts
        .filter((h) => h.id !== hostId && h.inventory.underlay)
        .map((h) => h.inventory.underlay!);
      // One default route in the guest: the first NIC whose network has a gateway, a DHCP NIC
      // counting as having one (its lease names the router) — the guest agent's rule too.
      const owns = !routed && (Boolean(net.gateway) || nic.source === 'dhcp');
      if (owns) routed = true;
      const gw = owns ? net.gateway : null;
      out.push({
        mac: nic.mac,
        ip: nic.source === 'ipam' ? nic.ip : null,
        prefix: net.cidr ? parseCidr(net.cidr).prefix : null,
        gateway: gw,
        dns: net.dns ?? [],
        network: this.agentNetwork(net, remotes),
      });
    }
    return out;
  }

  private agentNetwork(n: NetworkRow, remotes: string[]): AgentNic['network'] {
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
    };
  }

  /**
   * VXLAN: each host with VMs on an overlay floods to every other ready host. Called when a host
   * registers, so hosts already carrying the overlay learn the newcomer without a VM restart.
   */
  async refreshOverlays(): Promise<void> {
    const all = await this.s.hosts.all();
    // A host that is away gets its overlays when it registers again (this runs then).
    const hosts = all.filter((h) => h.state === 'ready' && this.d.agents.live.isLive(h.id));
    for (const net of (await this.s.networks.all()).filter((n) => n.mode === 'vxlan')) {
      for (const hostId of await this.s.networks.hostsOn(net.id)) {
        const h = hosts.find((x) => x.id === hostId);
        if (!h) continue;
        const remotes = all
          .filter((x) => x.id !== hostId && x.inventory.underlay)
          .map((x) => x.inventory.underlay!);
        await this.d.agents
          .json(h, 'POST', '/agent/v1/networks/ensure', { network: this.agentNetwork(net, remotes) })
          .catch((e: Error) =>
            this.d.log.warn(
              { host: h.name, network: net.name, err: e.message },
              'updating an overlay failed',
            ),
          );
      }
    }
  }

  /** Records addresses DHCP guests report (matched by MAC); true when every DHCP NIC has one. */
  async learn(vmId: string, ips: { mac?: string | undefined; address: string }[]): Promise<boolean> {
    const nics = await this.s.networks.nicsOf(vmId);
    let done = true;
    for (const n of nics.filter((x) => x.source === 'dhcp')) {
      const seen =
        ips.find((i) => i.mac?.toLowerCase() === n.mac && /^\d+\.\d+\.\d+\.\d+$/.test(i.address))?.address ??
        null;
      if (seen && seen !== n.ip) {
        await this.s.networks.learnIp(vmId, n.idx, seen).catch((e: unknown) => {
          // A stopped VM still holds that address in our records: the DHCP server knows better.
          if (!isUniqueViolation(e, 'vm_nics_ip')) throw e;
          this.d.log.warn({ vm: vmId, ip: seen }, 'a DHCP lease collides with an address another VM holds');
        });
      }
      if (!seen) done = false;
    }
    return done;
  }

  hasDhcp(vmId: string): Promise<boolean> {
    return this.s.networks.nicsOf(vmId).then((ns) => ns.some((n) => n.source === 'dhcp'));
  }
}
