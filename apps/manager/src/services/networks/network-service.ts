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
import { bridgeName } from '@hearth/contract/host-names';
import { isUniqueViolation } from '../../db/index.ts';
import type { Stores } from '../../store/index.ts';
import { leaseFromRow, type NetworkRow, type NewNetwork } from '../../store/networks.ts';
import type { AgentClient } from '../agent-client.ts';
import type { Quotas } from '../quotas.ts';
import { agentNics, refreshOverlays, tearDownOnHosts, type NicOwner } from './agent-networks.ts';
import { hasDhcpNics, recordDhcpAddresses } from './dhcp-learning.ts';
import { checkNetworkBody } from './network-checks.ts';
import { chooseNics, planNics, type ChosenNics, type NicPlan } from './nic-planning.ts';
import type { Orm } from '../../db/db.ts';
import { parseCidr } from './ipam.ts';
import type { AddressClaims } from './address-claims.ts';

/** What the VM service asks of networks for one VM, in the order it asks. */
export interface VmNetworking {
  /** The NICs a new VM asks for (or the default network's), and what they need from a host. */
  planNics(body: {
    project: string;
    network?: string | undefined;
    networks?: NicRequest[] | undefined;
  }): Promise<NicPlan>;
  /**
   * A MAC and an address for each planned NIC, read in `tx`, the transaction that inserts them
   * with the VM (its unique indexes refuse an address a concurrent create took first). With
   * `claims`, the addresses picked are claimed against this process's other creates until released.
   */
  chooseNics(vmId: string, plan: NicPlan, tx: Orm, claims?: AddressClaims): Promise<ChosenNics>;
  /** The VM's NICs as the agent on `hostId` builds them. */
  agentNics(vm: NicOwner, hostId: string): Promise<AgentNic[]>;
  hasDhcpNics(vmId: string): Promise<boolean>;
  /** Records what the guest reports; true when every DHCP NIC has an address. */
  recordDhcpAddresses(vmId: string, ips: { mac?: string | undefined; address: string }[]): Promise<boolean>;
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
    allowMetadata: r.allow_metadata,
    bridge: r.bridge,
    isDefault: r.is_default,
    requires: networkNeeds(r),
    vmCount: Number(r.vm_count ?? 0),
    createdAt: new Date(r.created_at).toISOString(),
  };
}

/** Networks: their records (CRUD), and the VMs' NICs on them (see `VmNetworking`). */
export class NetworkService implements VmNetworking {
  private readonly stores: Stores;

  constructor(private readonly deps: { stores: Stores; agents: AgentClient; log: Logger; quotas: Quotas }) {
    this.stores = deps.stores;
  }

  /** The default NAT network from the manager's configuration, created on first start. */
  async ensureDefault(cfg: { bridge: string; cidr: string; dns: string } | null): Promise<NetworkRow | null> {
    if (!cfg) return null;
    let row = await this.stores.networks.getDefault();
    if (!row) {
      const subnet = parseCidr(cfg.cidr);
      row = await this.stores.networks.insert({
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
        allow_metadata: false,
      });
    } else if (row.bridge !== cfg.bridge || row.cidr !== parseCidr(cfg.cidr).cidr) {
      this.deps.log.warn(
        { stored: { bridge: row.bridge, cidr: row.cidr }, configured: cfg },
        'the default network keeps its stored bridge and subnet; the configured ones differ',
      );
    }
    const n = await this.stores.networks.backfillDefault(row.id, row.name);
    if (n) this.deps.log.info({ vms: n }, 'gave older VMs a NIC on the default network');
    return row;
  }

  /** A new network of `project` (address ranges, VNIs and interfaces are checked across all). */
  async create(body: CreateNetworkBody & { mode: Network['mode'] }, project: string): Promise<Network> {
    const mode = body.mode;
    // A project's network never shadows a shared one of the same name.
    if (await this.stores.networks.get(body.name, project)) throw nameTaken(body.name);
    const hosts = (await this.stores.hosts.all()).filter((h) => h.state === 'ready');
    // Subnets, VNIs and interfaces are the platform's, so every network is checked; a refusal
    // names another project's network without its name.
    const all = (await this.stores.networks.all()).map((n) =>
      n.project === null || n.project === project ? n : { ...n, name: 'of another project' },
    );
    const { cidr, gateway } = checkNetworkBody(body, hosts, all);
    const id = newId('net');
    try {
      const values: NewNetwork = {
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
        bridge: bridgeName(id),
        is_default: false,
        allow_metadata: body.allowMetadata ?? false,
        project,
      };
      // A shared network (no project) counts against nobody's quota.
      const row = await this.deps.quotas.within(
        values.project ?? null,
        { networks: 1 },
        'Creating the network',
        (tx) => this.stores.networks.insert(values, tx),
      );
      return networkFromRow(row);
    } catch (e) {
      if (isUniqueViolation(e, 'networks_project_name')) throw nameTaken(body.name);
      if (isUniqueViolation(e, 'networks_vni'))
        throw new HearthError('NETWORK_VNI_TAKEN', `Creating the network failed: VNI ${body.vni} is taken.`);
      throw e;
    }
  }

  async get(idOrName: string, project: string): Promise<Network> {
    return networkFromRow(await this.stores.networks.require(idOrName, project));
  }

  /** The project's networks and the shared ones. */
  async list(q: { project: string; limit: number; cursor?: string | undefined; mode?: string | undefined }) {
    const page = await this.stores.networks.list(q);
    return { items: page.items.map(networkFromRow), nextCursor: page.nextCursor };
  }

  /** The addresses on a network held by the project's VMs (a shared network carries others too). */
  async leases(idOrName: string, project: string): Promise<{ items: Lease[] }> {
    const n = await this.stores.networks.require(idOrName, project);
    return { items: (await this.stores.networks.leases(n.id, project)).map(leaseFromRow) };
  }

  /**
   * Deletes the record, then every host removes what it built for the network (best effort). A
   * shared network (no project) is the platform's: `assertAdmin` refuses anyone else.
   */
  async delete(idOrName: string, project: string, assertAdmin: () => Promise<unknown>): Promise<Network> {
    const n = await this.stores.networks.require(idOrName, project);
    if (n.project === null) await assertAdmin();
    if (n.is_default) {
      throw new HearthError(
        'NETWORK_BUILTIN',
        `Deleting network "${n.name}" failed: it is the default network.`,
      );
    }
    const vms = await this.stores.networks.vmsOn(n.id);
    if (vms.length) {
      throw new HearthError(
        'NETWORK_IN_USE',
        `Deleting network "${n.name}" failed: ${vms.length} VM(s) use it (${vms.map((v) => v.name).join(', ')}).`,
        { detail: { vms: vms.map((v) => v.name) } },
      );
    }
    try {
      await this.stores.networks.delete(n.id);
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
    await tearDownOnHosts(this.deps, n);
    return networkFromRow({ ...n, vm_count: 0 });
  }

  /** VXLAN peers learn a host that (re)registered. */
  refreshOverlays(): Promise<void> {
    return refreshOverlays(this.deps);
  }

  planNics(body: {
    project: string;
    network?: string | undefined;
    networks?: NicRequest[] | undefined;
  }): Promise<NicPlan> {
    return planNics(this.stores, body);
  }

  chooseNics(vmId: string, plan: NicPlan, tx: Orm, claims?: AddressClaims): Promise<ChosenNics> {
    return chooseNics(this.stores, vmId, plan, tx, claims);
  }

  agentNics(vm: NicOwner, hostId: string): Promise<AgentNic[]> {
    return agentNics(this.stores, vm, hostId);
  }

  hasDhcpNics(vmId: string): Promise<boolean> {
    return hasDhcpNics(this.stores, vmId);
  }

  recordDhcpAddresses(vmId: string, ips: { mac?: string | undefined; address: string }[]): Promise<boolean> {
    return recordDhcpAddresses(this.stores, this.deps.log, vmId, ips);
  }
}

function nameTaken(name: string): HearthError {
  return new HearthError('NETWORK_NAME_TAKEN', `Creating the network failed: "${name}" exists.`, {
    fields: { name: ['already taken'] },
  });
}
