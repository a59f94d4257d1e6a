import { createHash } from 'node:crypto';
import { type Snapshot } from '@hearth/contract';
import { eq, getTableColumns, sql } from 'drizzle-orm';
import type { Db } from '../db/index.ts';
import { snapshots } from '../db/schema.ts';
import type { Orm } from '../db/db.ts';
import { Finder, notFound, outer, tableRows } from './lookup.ts';

export type SnapshotRow = typeof snapshots.$inferSelect & {
  /** Lineage: the snapshots of VMs that were restored or cloned from this one. */
  children?: string[] | null;
};

export type NewSnapshot = Omit<
  SnapshotRow,
  | 'state'
  | 'size_bytes'
  | 'vmm_version'
  | 'type'
  | 'created_at'
  | 'children'
  | 'networks'
  | 'volumes'
  | 'schedule_id'
  | 'kind'
  | 'files'
  | 'verify'
  | 'problem'
  | 'base_id'
> & { networks?: string[]; volumes?: string[]; schedule_id?: string | null; kind?: SnapshotRow['kind'] };

const children = sql<
  string[] | null
>`(SELECT array_agg(c.id ORDER BY c.id) FROM snapshots c WHERE c.parent_id = ${outer(snapshots.id)})`;

/**
 * One digest for a snapshot's files: sha256 of their `sha256sum` listing ("<sum>  <name>\n" by
 * name), so `sha256sum * | sort -k2 | sha256sum` in the snapshot's directory gives the same.
 */
export function filesDigest(files: Record<string, string> | null | undefined): string | null {
  if (!files) return null;
  const names = Object.keys(files).sort();
  return createHash('sha256')
    .update(names.map((n) => `${files[n]}  ${n}\n`).join(''))
    .digest('hex');
}

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
    base: r.base_id ?? null,
    kind: r.kind,
    kernel: r.kernel_id,
    image: r.image_id,
    vcpus: r.vcpus,
    memoryMib: r.memory_mib,
    diskMib: r.disk_mib,
    createdAt: new Date(r.created_at).toISOString(),
    sha256: filesDigest(r.files),
    problem: r.problem ?? null,
  };
}

export class SnapshotStore {
  private readonly find: Finder<SnapshotRow>;

  constructor(private readonly db: Db) {
    const fields = { ...getTableColumns(snapshots), children };
    this.find = new Finder<SnapshotRow>(
      snapshots,
      tableRows(this.db.orm, snapshots, fields),
      notFound('SNAPSHOT_NOT_FOUND', 'snapshot'),
    );
  }

  /** The parent is recorded only while it exists: the VM may come from a since-deleted snapshot. */
  /** `tx`: inside a caller's transaction (a quota check's). */
  async insert(s: NewSnapshot, tx: Orm = this.db.orm): Promise<SnapshotRow> {
    const rows = await tx
      .insert(snapshots)
      .values({
        ...s,
        parent_id: sql`(SELECT id FROM snapshots WHERE id = ${s.parent_id})`,
        state: 'creating',
        networks: s.networks ?? [],
        volumes: s.volumes ?? [],
        schedule_id: s.schedule_id ?? null,
        kind: s.kind ?? 'memory',
      })
      .returning();
    return rows[0]!;
  }

  async markReady(
    id: string,
    r: {
      sizeBytes: number;
      vmmVersion: string;
      type: string;
      files?: Record<string, string> | undefined;
      base?: string | null | undefined;
    },
  ): Promise<void> {
    await this.db.orm
      .update(snapshots)
      .set({
        state: 'ready',
        files: r.files ?? null,
        size_bytes: r.sizeBytes,
        vmm_version: r.vmmVersion,
        type: r.type as SnapshotRow['type'],
        base_id: r.base ?? null,
      })
      .where(eq(snapshots.id, id));
  }

  /** By id or name inside `project` (a user lookup). */
  get(idOrName: string, project: string): Promise<SnapshotRow | null> {
    return this.find.get(idOrName, project);
  }

  require(idOrName: string, project: string): Promise<SnapshotRow> {
    return this.find.require(idOrName, project);
  }

  /** By id in any project: internal paths only (agents, reconciliation, rows already read). */
  requireUnscoped(id: string): Promise<SnapshotRow> {
    return this.find.requireUnscoped(id);
  }

  /** Newest first. */
  list(f: { project: string; vm?: string | undefined; limit: number; cursor?: string | undefined }) {
    return this.find.page(
      f,
      [this.find.inProject(f.project), f.vm ? eq(snapshots.vm_id, f.vm) : undefined],
      true,
    );
  }

  /** Every snapshot of a VM, in any project: internal paths only (a VM's move). */
  ofVm(vmId: string): Promise<SnapshotRow[]> {
    return this.db.orm.select().from(snapshots).where(eq(snapshots.vm_id, vmId)).orderBy(snapshots.id);
  }

  /** The diff snapshots that build on `id`, oldest first: while any exists it must stay. */
  dependents(id: string): Promise<Pick<SnapshotRow, 'id' | 'name'>[]> {
    return this.db.orm
      .select({ id: snapshots.id, name: snapshots.name })
      .from(snapshots)
      .where(eq(snapshots.base_id, id))
      .orderBy(snapshots.id);
  }

  async delete(id: string): Promise<void> {
    await this.db.orm.delete(snapshots).where(eq(snapshots.id, id));
  }

  /** A deleted VM's snapshots stay restorable; they only lose the link to it. */
  async detachVm(vmId: string): Promise<void> {
    await this.db.orm.update(snapshots).set({ vm_id: null }).where(eq(snapshots.vm_id, vmId));
  }
}
