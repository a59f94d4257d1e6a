import { HearthError, type Snapshot } from '@hearth/contract';
import type { Db } from '../db/index.ts';
import { decodeCursor, pageResult } from './page.ts';
import type { VmGuest } from './vms.ts';

export interface SnapshotRow {
  id: string;
  name: string;
  project: string;
  vm_id: string | null;
  vm_name: string;
  host_id: string;
  parent_id: string | null;
  state: Snapshot['state'];
  size_bytes: number | string;
  vmm: Snapshot['vmm'];
  vmm_version: string;
  type: Snapshot['type'];
  kernel_id: string;
  kernel_sha256: string;
  image_id: string;
  image_sha256: string;
  vcpus: number;
  memory_mib: number;
  disk_mib: number;
  env: Record<string, string>;
  guest: VmGuest;
  /** Network ids of the VM's NICs when it was taken: a clone needs the same devices. */
  networks?: string[];
  created_at: Date;
  children?: string[] | null;
}

export type NewSnapshot = Omit<
  SnapshotRow,
  'state' | 'size_bytes' | 'vmm_version' | 'type' | 'created_at' | 'children'
>;

// Lineage: the snapshots of VMs that were restored or cloned from this one.
const WITH_CHILDREN = `SELECT s.*, (SELECT array_agg(c.id ORDER BY c.id) FROM snapshots c WHERE c.parent_id = s.id) AS children FROM snapshots s`;

export function snapshotFromRow(r: SnapshotRow): Snapshot {
  return {
    id: r.id,
    name: r.name,
    project: r.project,
    vm: r.vm_id,
    vmName: r.vm_name,
    host: r.host_id,
    parent: r.parent_id,
    children: r.children ?? [],
    state: r.state,
    sizeBytes: Number(r.size_bytes),
    vmm: r.vmm,
    vmmVersion: r.vmm_version,
    type: r.type,
    kernel: r.kernel_id,
    image: r.image_id,
    vcpus: r.vcpus,
    memoryMib: r.memory_mib,
    diskMib: r.disk_mib,
    createdAt: new Date(r.created_at).toISOString(),
  };
}

export class SnapshotStore {
  constructor(private readonly db: Db) {}

  /** The parent is recorded only while it exists: the VM may come from a since-deleted snapshot. */
  async insert(s: NewSnapshot): Promise<SnapshotRow> {
    const rows = await this.db.query<SnapshotRow>(
      `INSERT INTO snapshots (id, name, project, vm_id, vm_name, host_id, parent_id, state, vmm, kernel_id, kernel_sha256,
         image_id, image_sha256, vcpus, memory_mib, disk_mib, env, guest, networks)
       VALUES ($1,$2,$3,$4,$5,$6,(SELECT id FROM snapshots WHERE id = $7),'creating',$8,$9,$10,$11,$12,$13,$14,$15,$16::jsonb,$17::jsonb,$18::jsonb) RETURNING *`,
      [
        s.id,
        s.name,
        s.project,
        s.vm_id,
        s.vm_name,
        s.host_id,
        s.parent_id,
        s.vmm,
        s.kernel_id,
        s.kernel_sha256,
        s.image_id,
        s.image_sha256,
        s.vcpus,
        s.memory_mib,
        s.disk_mib,
        JSON.stringify(s.env),
        JSON.stringify(s.guest),
        JSON.stringify(s.networks ?? []),
      ],
    );
    return rows[0]!;
  }

  async markReady(id: string, r: { sizeBytes: number; vmmVersion: string; type: string }): Promise<void> {
    await this.db.query(
      `UPDATE snapshots SET state = 'ready', size_bytes = $2, vmm_version = $3, type = $4 WHERE id = $1`,
      [id, r.sizeBytes, r.vmmVersion, r.type],
    );
  }

  async get(idOrName: string): Promise<SnapshotRow | null> {
    const rows = await this.db.query<SnapshotRow>(
      `${WITH_CHILDREN} WHERE s.id = $1 OR s.name = $1 ORDER BY (s.id = $1) DESC LIMIT 1`,
      [idOrName],
    );
    return rows[0] ?? null;
  }

  async require(idOrName: string): Promise<SnapshotRow> {
    const s = await this.get(idOrName);
    if (!s) {
      throw new HearthError(
        'SNAPSHOT_NOT_FOUND',
        `Finding snapshot "${idOrName}" failed: no snapshot has that id or name.`,
      );
    }
    return s;
  }

  async list(f: { vm?: string | undefined; limit: number; cursor?: string | undefined }) {
    const params: unknown[] = [];
    const where: string[] = [];
    if (f.vm) {
      params.push(f.vm);
      where.push(`s.vm_id = $${params.length}`);
    }
    const after = decodeCursor(f.cursor);
    if (after) {
      params.push(after);
      where.push(`s.id < $${params.length}`);
    }
    params.push(f.limit + 1);
    const rows = await this.db.query<SnapshotRow>(
      `${WITH_CHILDREN} ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY s.id DESC LIMIT $${params.length}`,
      params,
    );
    return pageResult(rows, f.limit, (r) => r.id);
  }

  async delete(id: string): Promise<void> {
    await this.db.query('DELETE FROM snapshots WHERE id = $1', [id]);
  }

  /** A deleted VM's snapshots stay restorable; they only lose the link to it. */
  async detachVm(vmId: string): Promise<void> {
    await this.db.query('UPDATE snapshots SET vm_id = NULL WHERE vm_id = $1', [vmId]);
  }
}
