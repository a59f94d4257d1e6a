import { HearthError, type Lease, type VmNic } from '@hearth/contract';
import { and, asc, eq, getTableColumns, inArray, isNotNull, notExists, sql } from 'drizzle-orm';
import { driverError, type Db } from '../db/index.ts';
import { networks, vmNics, vms } from '../db/schema.ts';
import type { Orm } from '../db/db.ts';
import { Finder, outer, tableRows, type Rows } from './lookup.ts';

export type NetworkRow = typeof networks.$inferSelect & { vm_count?: number };
export type NicRow = typeof vmNics.$inferSelect;
export type NewNetwork = Omit<NetworkRow, 'created_at' | 'vm_count' | 'project' | 'allow_metadata'> & {
  project?: string | null;
  allow_metadata?: boolean;
};
type LeaseRow = NicRow & { vm_name: string; host_id: string | null };

const vmCount = sql<number>`(SELECT count(DISTINCT vm_id) FROM vm_nics c WHERE c.network_id = ${outer(networks.id)})`;

export class NetworkStore {
  private readonly find: Finder<NetworkRow>;
  /** Reads without `vm_count`, whose subquery counts every NIC on the network. */
  private readonly plain: Rows<NetworkRow>;

  constructor(private readonly db: Db) {
    const fields = { ...getTableColumns(networks), vm_count: vmCount.mapWith(Number) };
    this.find = new Finder<NetworkRow>(
      networks,
      tableRows(this.db.orm, networks, fields),
      (idOrName) =>
        new HearthError('NETWORK_NOT_FOUND', `Network "${idOrName}" does not exist.`, {
          fields: { network: ['no such network'] },
        }),
      true,
    );
    this.plain = tableRows(this.db.orm, networks);
  }

  /** `tx`: inside a caller's transaction (a quota check's). */
  async insert(n: NewNetwork, tx: Orm = this.db.orm): Promise<NetworkRow> {
    const rows = await tx.insert(networks).values(n).returning();
    return { ...rows[0]!, vm_count: 0 };
  }

  /** By id or name among the project's networks and the shared ones (a user lookup). */
  async get(idOrName: string, project: string): Promise<NetworkRow | null> {
    const n = await this.find.get(idOrName, project);
    return n && (await this.countIn([n], project))[0]!;
  }

  async require(idOrName: string, project: string): Promise<NetworkRow> {
    const n = await this.find.require(idOrName, project);
    return (await this.countIn([n], project))[0]!;
  }

  /** `vm_count` as a user of `project` may see it: on a shared network, the project's VMs only. */
  private async countIn(rows: NetworkRow[], project: string): Promise<NetworkRow[]> {
    const shared = rows.filter((r) => r.project === null).map((r) => r.id);
    if (!shared.length) return rows;
    const counts = await this.db.orm
      .select({ id: vmNics.network_id, n: sql<number>`count(DISTINCT ${vmNics.vm_id})`.mapWith(Number) })
      .from(vmNics)
      .innerJoin(vms, eq(vms.id, vmNics.vm_id))
      .where(and(inArray(vmNics.network_id, shared), eq(vms.project, project)))
      .groupBy(vmNics.network_id);
    const by = new Map(counts.map((c) => [c.id, c.n]));
    return rows.map((r) => (r.project === null ? { ...r, vm_count: by.get(r.id) ?? 0 } : r));
  }

  /** By id in any project: internal paths only (what agents build, a VM's own NICs). */
  requireUnscoped(id: string): Promise<NetworkRow> {
    return this.find.requireUnscoped(id);
  }

  /** The default network, without `vm_count` (every create asks). */
  async getDefault(): Promise<NetworkRow | null> {
    return (await this.plain(eq(networks.is_default, true), [], 1))[0] ?? null;
  }

  /** Every network of every project: internal paths only (agents, address-range checks). */
  all(): Promise<NetworkRow[]> {
    return this.find.all([asc(networks.created_at), asc(networks.id)]);
  }

  /** The project's networks and the shared ones. */
  async list(f: { project: string; limit: number; cursor?: string | undefined; mode?: string | undefined }) {
    const page = await this.find.page(f, [
      this.find.inProject(f.project),
      f.mode ? eq(networks.mode, f.mode as NetworkRow['mode']) : undefined,
    ]);
    return { ...page, items: await this.countIn(page.items, f.project) };
  }

  /** A network still referenced fails with the driver's foreign_key_violation (23503). */
  async delete(id: string): Promise<void> {
    try {
      await this.db.orm.delete(networks).where(eq(networks.id, id));
    } catch (e) {
      throw driverError(e) ?? e;
    }
  }

  /** `tx`: inside a caller's transaction (a create's, which inserts the NICs it picks). */
  async usedIps(networkId: string, tx: Orm = this.db.orm): Promise<string[]> {
    const rows = await tx
      .select({ ip: vmNics.ip })
      .from(vmNics)
      .where(and(eq(vmNics.network_id, networkId), isNotNull(vmNics.ip)));
    return rows.map((r) => r.ip!);
  }

  nicsOf(vmId: string): Promise<NicRow[]> {
    return this.db.orm.select().from(vmNics).where(eq(vmNics.vm_id, vmId)).orderBy(asc(vmNics.idx));
  }

  /** VM names on a network, for "in use" errors. */
  vmsOn(networkId: string): Promise<{ id: string; name: string }[]> {
    return this.db.orm
      .selectDistinct({ id: vms.id, name: vms.name })
      .from(vmNics)
      .innerJoin(vms, eq(vms.id, vmNics.vm_id))
      .where(eq(vmNics.network_id, networkId))
      .orderBy(asc(vms.name));
  }

  /** Hosts that hold VMs with a NIC on the network. */
  async hostsOn(networkId: string): Promise<string[]> {
    const rows = await this.db.orm
      .selectDistinct({ host_id: vms.host_id })
      .from(vmNics)
      .innerJoin(vms, eq(vms.id, vmNics.vm_id))
      .where(and(eq(vmNics.network_id, networkId), isNotNull(vms.host_id)));
    return rows.map((r) => r.host_id!);
  }

  /** The NICs on a network of the project's VMs (a shared network carries other projects' too). */
  leases(networkId: string, project: string): Promise<LeaseRow[]> {
    return this.db.orm
      .select({ ...getTableColumns(vmNics), vm_name: vms.name, host_id: vms.host_id })
      .from(vmNics)
      .innerJoin(vms, eq(vms.id, vmNics.vm_id))
      .where(and(eq(vmNics.network_id, networkId), eq(vms.project, project)))
      .orderBy(asc(vms.name), asc(vmNics.idx));
  }

  /**
   * Replaces a VM's NICs in one transaction, mirroring them into vms (nics, ip and mac of the
   * first). A unique violation (an address or MAC taken meanwhile) rolls everything back.
   */
  async setNics(vmId: string, nics: NicRow[], mirror: VmNic[]): Promise<void> {
    await this.db.orm.transaction(async (tx) => {
      await tx.delete(vmNics).where(eq(vmNics.vm_id, vmId));
      for (const n of nics) {
        await tx.insert(vmNics).values({
          vm_id: vmId,
          idx: n.idx,
          network_id: n.network_id,
          mac: n.mac,
          ip: n.ip,
          source: n.source,
        });
      }
      await tx
        .update(vms)
        .set({ nics: mirror, ip: nics.find((n) => n.ip)?.ip ?? null, mac: nics[0]?.mac ?? null })
        .where(eq(vms.id, vmId));
    });
  }

  /** A DHCP guest reported its address: recorded on the NIC and in the VM's mirror. */
  async learnIp(vmId: string, idx: number, ip: string | null): Promise<void> {
    await this.db.orm.transaction(async (tx) => {
      await tx
        .update(vmNics)
        .set({ ip })
        .where(and(eq(vmNics.vm_id, vmId), eq(vmNics.idx, idx)));
      const nics = await tx
        .select({ network: vmNics.network_id, networkName: networks.name, mac: vmNics.mac, ip: vmNics.ip })
        .from(vmNics)
        .innerJoin(networks, eq(networks.id, vmNics.network_id))
        .where(eq(vmNics.vm_id, vmId))
        .orderBy(asc(vmNics.idx));
      const mirror: VmNic[] = nics;
      await tx
        .update(vms)
        .set({ nics: mirror, ip: nics.find((n) => n.ip)?.ip ?? null })
        .where(eq(vms.id, vmId));
    });
  }

  async removeNics(vmId: string): Promise<void> {
    await this.db.orm.delete(vmNics).where(eq(vmNics.vm_id, vmId));
  }

  /** Older VMs held their address in vms.ip only: give them a NIC on the default network. */
  async backfillDefault(networkId: string, networkName: string): Promise<number> {
    const rows = await this.db.orm
      .select({ id: vms.id, ip: vms.ip, mac: vms.mac })
      .from(vms)
      .where(
        and(
          isNotNull(vms.ip),
          isNotNull(vms.mac),
          notExists(
            this.db.orm
              .select({ one: sql`1` })
              .from(vmNics)
              .where(eq(vmNics.vm_id, vms.id)),
          ),
        ),
      );
    for (const r of rows) {
      const [ip, mac] = [r.ip!, r.mac!];
      await this.setNics(
        r.id,
        [{ vm_id: r.id, idx: 0, network_id: networkId, mac, ip, source: 'ipam' }],
        [{ network: networkId, networkName, mac, ip }],
      );
    }
    return rows.length;
  }
}

export function leaseFromRow(r: LeaseRow): Lease {
  return {
    vmId: r.vm_id,
    vmName: r.vm_name,
    nic: r.idx,
    mac: r.mac,
    ip: r.ip,
    source: r.source,
    host: r.host_id,
  };
}
