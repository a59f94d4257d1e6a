import { HearthError, type Lease, type Network, type VmNic } from '@hearth/contract';
import type { Db } from '../db/index.ts';
import { decodeCursor, pageResult } from './page.ts';

export interface NetworkRow {
  id: string;
  name: string;
  mode: Network['mode'];
  cidr: string | null;
  gateway: string | null;
  dns: string[];
  iface: string | null;
  vlan: number | null;
  vni: number | null;
  port: number | null;
  bridge: string;
  is_default: boolean;
  created_at: Date;
  vm_count?: number | string;
}

export interface NicRow {
  vm_id: string;
  idx: number;
  network_id: string;
  mac: string;
  ip: string | null;
  source: 'ipam' | 'dhcp';
}

export type NewNetwork = Omit<NetworkRow, 'created_at' | 'vm_count'>;

const WITH_COUNT = `SELECT n.*, (SELECT count(DISTINCT vm_id) FROM vm_nics c WHERE c.network_id = n.id) AS vm_count FROM networks n`;

export class NetworkStore {
  constructor(private readonly db: Db) {}

  async insert(n: NewNetwork): Promise<NetworkRow> {
    const rows = await this.db.query<NetworkRow>(
      `INSERT INTO networks (id, name, mode, cidr, gateway, dns, iface, vlan, vni, port, bridge, is_default)
       VALUES ($1,$2,$3,$4,$5,$6::jsonb,$7,$8,$9,$10,$11,$12) RETURNING *`,
      [
        n.id,
        n.name,
        n.mode,
        n.cidr,
        n.gateway,
        JSON.stringify(n.dns),
        n.iface,
        n.vlan,
        n.vni,
        n.port,
        n.bridge,
        n.is_default,
      ],
    );
    return { ...rows[0]!, vm_count: 0 };
  }

  async get(idOrName: string): Promise<NetworkRow | null> {
    const rows = await this.db.query<NetworkRow>(`${WITH_COUNT} WHERE n.id = $1 OR n.name = $1`, [idOrName]);
    return rows[0] ?? null;
  }

  async require(idOrName: string): Promise<NetworkRow> {
    const n = await this.get(idOrName);
    if (!n) {
      throw new HearthError('NETWORK_NOT_FOUND', `Network "${idOrName}" does not exist.`, {
        fields: { network: ['no such network'] },
      });
    }
    return n;
  }

  async getDefault(): Promise<NetworkRow | null> {
    const rows = await this.db.query<NetworkRow>(`${WITH_COUNT} WHERE n.is_default`);
    return rows[0] ?? null;
  }

  all(): Promise<NetworkRow[]> {
    return this.db.query<NetworkRow>(`${WITH_COUNT} ORDER BY n.created_at, n.id`);
  }

  async list(f: { limit: number; cursor?: string | undefined; mode?: string | undefined }) {
    const after = decodeCursor(f.cursor);
    const rows = await this.db.query<NetworkRow>(
      `${WITH_COUNT} WHERE ($1::text IS NULL OR n.id > $1) AND ($2::text IS NULL OR n.mode = $2)
       ORDER BY n.id LIMIT $3`,
      [after, f.mode ?? null, f.limit + 1],
    );
    return pageResult(rows, f.limit, (r) => r.id);
  }

  async delete(id: string): Promise<void> {
    await this.db.query('DELETE FROM networks WHERE id = $1', [id]);
  }

  usedIps(networkId: string): Promise<string[]> {
    return this.db
      .query<{ ip: string }>('SELECT ip FROM vm_nics WHERE network_id = $1 AND ip IS NOT NULL', [networkId])
      .then((rows) => rows.map((r) => r.ip));
  }

  nicsOf(vmId: string): Promise<NicRow[]> {
    return this.db.query<NicRow>('SELECT * FROM vm_nics WHERE vm_id = $1 ORDER BY idx', [vmId]);
  }

  /** VM names on a network, for "in use" errors. */
  vmsOn(networkId: string): Promise<{ id: string; name: string }[]> {
    return this.db.query(
      'SELECT DISTINCT v.id, v.name FROM vm_nics c JOIN vms v ON v.id = c.vm_id WHERE c.network_id = $1 ORDER BY v.name',
      [networkId],
    );
  }

  /** Hosts that hold VMs with a NIC on the network. */
  hostsOn(networkId: string): Promise<string[]> {
    return this.db
      .query<{ host_id: string }>(
        `SELECT DISTINCT v.host_id FROM vm_nics c JOIN vms v ON v.id = c.vm_id
         WHERE c.network_id = $1 AND v.host_id IS NOT NULL`,
        [networkId],
      )
      .then((rows) => rows.map((r) => r.host_id));
  }

  leases(networkId: string): Promise<(NicRow & { vm_name: string; host_id: string | null })[]> {
    return this.db.query(
      `SELECT c.*, v.name AS vm_name, v.host_id FROM vm_nics c JOIN vms v ON v.id = c.vm_id
       WHERE c.network_id = $1 ORDER BY v.name, c.idx`,
      [networkId],
    );
  }

  /**
   * Replaces a VM's NICs in one transaction, mirroring them into vms (nics, ip and mac of the
   * first). A unique violation (an address or MAC taken meanwhile) rolls everything back.
   */
  async setNics(vmId: string, nics: NicRow[], mirror: VmNic[]): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query('DELETE FROM vm_nics WHERE vm_id = $1', [vmId]);
      for (const n of nics) {
        await tx.query(
          'INSERT INTO vm_nics (vm_id, idx, network_id, mac, ip, source) VALUES ($1,$2,$3,$4,$5,$6)',
          [vmId, n.idx, n.network_id, n.mac, n.ip, n.source],
        );
      }
      await tx.query('UPDATE vms SET nics = $2::jsonb, ip = $3, mac = $4 WHERE id = $1', [
        vmId,
        JSON.stringify(mirror),
        nics.find((n) => n.ip)?.ip ?? null,
        nics[0]?.mac ?? null,
      ]);
    });
  }

  /** A DHCP guest reported its address: recorded on the NIC and in the VM's mirror. */
  async learnIp(vmId: string, idx: number, ip: string | null): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query('UPDATE vm_nics SET ip = $3 WHERE vm_id = $1 AND idx = $2', [vmId, idx, ip]);
      const nics = await tx.query<NicRow & { name: string }>(
        'SELECT c.*, n.name FROM vm_nics c JOIN networks n ON n.id = c.network_id WHERE c.vm_id = $1 ORDER BY c.idx',
        [vmId],
      );
      const mirror: VmNic[] = nics.map((n) => ({
        network: n.network_id,
        networkName: n.name,
        mac: n.mac,
        ip: n.ip,
      }));
      await tx.query('UPDATE vms SET nics = $2::jsonb, ip = $3 WHERE id = $1', [
        vmId,
        JSON.stringify(mirror),
        nics.find((n) => n.ip)?.ip ?? null,
      ]);
    });
  }

  async removeNics(vmId: string): Promise<void> {
    await this.db.query('DELETE FROM vm_nics WHERE vm_id = $1', [vmId]);
  }

  /** Older VMs held their address in vms.ip only: give them a NIC on the default network. */
  async backfillDefault(networkId: string, networkName: string): Promise<number> {
    const rows = await this.db.query<{ id: string; ip: string; mac: string }>(
      `SELECT id, ip, mac FROM vms v WHERE ip IS NOT NULL AND mac IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM vm_nics c WHERE c.vm_id = v.id)`,
    );
    for (const r of rows) {
      await this.setNics(
        r.id,
        [{ vm_id: r.id, idx: 0, network_id: networkId, mac: r.mac, ip: r.ip, source: 'ipam' }],
        [{ network: networkId, networkName, mac: r.mac, ip: r.ip }],
      );
    }
    return rows.length;
  }
}

export function leaseFromRow(r: NicRow & { vm_name: string; host_id: string | null }): Lease {
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
