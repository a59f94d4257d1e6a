import { HearthError, type Volume } from '@hearth/contract';
import type { Db } from '../db/index.ts';
import { decodeCursor, pageResult } from './page.ts';

export interface VolumeRow {
  id: string;
  name: string;
  project: string;
  size_mib: number;
  format: Volume['format'];
  host_id: string;
  vm_id: string | null;
  read_only: boolean;
  attached_at: Date | null;
  image_id: string | null;
  created_at: Date;
}

export function volumeFromRow(r: VolumeRow): Volume {
  return {
    id: r.id,
    name: r.name,
    project: r.project,
    sizeMib: r.size_mib,
    format: r.format,
    host: r.host_id,
    attachedTo: r.vm_id,
    serial: volumeSerial(r.id),
    image: r.image_id,
    createdAt: new Date(r.created_at).toISOString(),
  };
}

/** virtio-blk serials hold 20 bytes: the tail of the id is unique enough and stable. */
export function volumeSerial(id: string): string {
  return id.slice(-20);
}

export class VolumeStore {
  constructor(private readonly db: Db) {}

  async insert(v: Omit<VolumeRow, 'vm_id' | 'read_only' | 'attached_at' | 'created_at'>): Promise<VolumeRow> {
    const rows = await this.db.query<VolumeRow>(
      `INSERT INTO volumes (id, name, project, size_mib, format, host_id, image_id) VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING *`,
      [v.id, v.name, v.project, v.size_mib, v.format, v.host_id, v.image_id],
    );
    return rows[0]!;
  }

  async get(idOrName: string): Promise<VolumeRow | null> {
    const rows = await this.db.query<VolumeRow>(
      'SELECT * FROM volumes WHERE id = $1 OR name = $1 ORDER BY (id = $1) DESC LIMIT 1',
      [idOrName],
    );
    return rows[0] ?? null;
  }

  async require(idOrName: string): Promise<VolumeRow> {
    const v = await this.get(idOrName);
    if (!v)
      throw new HearthError(
        'VOLUME_NOT_FOUND',
        `Finding volume "${idOrName}" failed: no volume has that id or name.`,
      );
    return v;
  }

  async list(f: { vm?: string | undefined; limit: number; cursor?: string | undefined }) {
    const params: unknown[] = [];
    const where: string[] = [];
    if (f.vm) {
      params.push(f.vm);
      where.push(`vm_id = $${params.length}`);
    }
    const after = decodeCursor(f.cursor);
    if (after) {
      params.push(after);
      where.push(`id > $${params.length}`);
    }
    params.push(f.limit + 1);
    const rows = await this.db.query<VolumeRow>(
      `SELECT * FROM volumes ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id LIMIT $${params.length}`,
      params,
    );
    return pageResult(rows, f.limit, (r) => r.id);
  }

  /** A VM's volumes in attach order: the order the guest sees them (vdb, vdc, …). */
  forVm(vmId: string): Promise<VolumeRow[]> {
    return this.db.query<VolumeRow>('SELECT * FROM volumes WHERE vm_id = $1 ORDER BY attached_at, id', [
      vmId,
    ]);
  }

  /** Attaches only if still detached: two attaches racing cannot both win. */
  async attach(id: string, vmId: string, readOnly: boolean): Promise<VolumeRow | null> {
    const rows = await this.db.query<VolumeRow>(
      'UPDATE volumes SET vm_id = $2, read_only = $3, attached_at = now() WHERE id = $1 AND vm_id IS NULL RETURNING *',
      [id, vmId, readOnly],
    );
    return rows[0] ?? null;
  }

  async detach(id: string): Promise<VolumeRow> {
    const rows = await this.db.query<VolumeRow>(
      'UPDATE volumes SET vm_id = NULL, attached_at = NULL WHERE id = $1 RETURNING *',
      [id],
    );
    return rows[0]!;
  }

  async detachAll(vmId: string): Promise<void> {
    await this.db.query('UPDATE volumes SET vm_id = NULL, attached_at = NULL WHERE vm_id = $1', [vmId]);
  }

  async resize(id: string, sizeMib: number): Promise<VolumeRow> {
    const rows = await this.db.query<VolumeRow>(
      'UPDATE volumes SET size_mib = $2 WHERE id = $1 RETURNING *',
      [id, sizeMib],
    );
    return rows[0]!;
  }

  async delete(id: string): Promise<void> {
    await this.db.query('DELETE FROM volumes WHERE id = $1', [id]);
  }
}
