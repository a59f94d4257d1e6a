import { type Volume } from '@hearth/contract';
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../db/index.ts';
import { volumes } from '../db/schema.ts';
import type { Orm } from '../db/db.ts';
import { Finder, notFound, tableRows } from './lookup.ts';

export type VolumeRow = typeof volumes.$inferSelect;

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

const detached = { vm_id: null, attached_at: null };

export class VolumeStore {
  private readonly find: Finder<VolumeRow>;

  constructor(private readonly db: Db) {
    this.find = new Finder<VolumeRow>(
      volumes,
      tableRows(this.db.orm, volumes),
      notFound('VOLUME_NOT_FOUND', 'volume'),
    );
  }

  /** `tx`: inside a caller's transaction (a quota check's). */
  async insert(
    v: Omit<VolumeRow, 'vm_id' | 'read_only' | 'attached_at' | 'created_at'>,
    tx: Orm = this.db.orm,
  ): Promise<VolumeRow> {
    const rows = await tx.insert(volumes).values(v).returning();
    return rows[0]!;
  }

  /** By id or name inside `project` (a user lookup). */
  get(idOrName: string, project: string): Promise<VolumeRow | null> {
    return this.find.get(idOrName, project);
  }

  require(idOrName: string, project: string): Promise<VolumeRow> {
    return this.find.require(idOrName, project);
  }

  /** By id in any project: internal paths only (agents, reconciliation, rows already read). */
  getUnscoped(id: string): Promise<VolumeRow | null> {
    return this.find.getUnscoped(id);
  }

  list(f: { project: string; vm?: string | undefined; limit: number; cursor?: string | undefined }) {
    return this.find.page(f, [this.find.inProject(f.project), f.vm ? eq(volumes.vm_id, f.vm) : undefined]);
  }

  /** A VM's volumes in attach order: the order the guest sees them (vdb, vdc, …). */
  forVm(vmId: string): Promise<VolumeRow[]> {
    return this.find.all([asc(volumes.attached_at), asc(volumes.id)], eq(volumes.vm_id, vmId));
  }

  /** Attaches only if still detached: two attaches racing cannot both win. */
  async attach(id: string, vmId: string, readOnly: boolean): Promise<VolumeRow | null> {
    const rows = await this.db.orm
      .update(volumes)
      .set({ vm_id: vmId, read_only: readOnly, attached_at: sql`now()` })
      .where(and(eq(volumes.id, id), isNull(volumes.vm_id)))
      .returning();
    return rows[0] ?? null;
  }

  async detach(id: string): Promise<VolumeRow> {
    const rows = await this.db.orm.update(volumes).set(detached).where(eq(volumes.id, id)).returning();
    return rows[0]!;
  }

  async detachAll(vmId: string): Promise<void> {
    await this.db.orm.update(volumes).set(detached).where(eq(volumes.vm_id, vmId));
  }

  async resize(id: string, sizeMib: number, tx: Orm = this.db.orm): Promise<VolumeRow> {
    const rows = await tx.update(volumes).set({ size_mib: sizeMib }).where(eq(volumes.id, id)).returning();
    return rows[0]!;
  }

  async delete(id: string): Promise<void> {
    await this.db.orm.delete(volumes).where(eq(volumes.id, id));
  }
}
