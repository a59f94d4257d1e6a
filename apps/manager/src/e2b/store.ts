import { and, asc, eq, gt, lte, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/index.ts';
import { e2bSandboxes } from '../db/schema.ts';

export type SandboxRow = typeof e2bSandboxes.$inferSelect;

/** The E2B sandboxes: one row per sandbox, beside its VM (which holds the state). */
export class SandboxStore {
  constructor(private readonly db: Db) {}

  async insert(row: Omit<SandboxRow, 'created_at' | 'started_at' | 'paused_snapshot'>): Promise<SandboxRow> {
    const rows = await this.db.orm.insert(e2bSandboxes).values(row).returning();
    return rows[0]!;
  }

  async get(id: string): Promise<SandboxRow | null> {
    const rows = await this.db.orm.select().from(e2bSandboxes).where(eq(e2bSandboxes.id, id));
    return rows[0] ?? null;
  }

  async byVm(vmId: string): Promise<SandboxRow | null> {
    const rows = await this.db.orm.select().from(e2bSandboxes).where(eq(e2bSandboxes.vm_id, vmId));
    return rows[0] ?? null;
  }

  /**
   * One page of a project's sandboxes in id order, `after` the last id of the page before;
   * `metadata`: every pair must match.
   */
  async list(f: {
    project: string;
    metadata: Record<string, string>;
    limit: number;
    after: string | null;
  }): Promise<SandboxRow[]> {
    const conds: (SQL | undefined)[] = [eq(e2bSandboxes.project, f.project)];
    if (f.after) conds.push(gt(e2bSandboxes.id, f.after));
    if (Object.keys(f.metadata).length) {
      conds.push(sql`${e2bSandboxes.metadata} @> ${JSON.stringify(f.metadata)}::jsonb`);
    }
    return this.db.orm
      .select()
      .from(e2bSandboxes)
      .where(and(...conds))
      .orderBy(asc(e2bSandboxes.id))
      .limit(f.limit);
  }

  async setEnd(id: string, endAt: Date): Promise<void> {
    await this.db.orm.update(e2bSandboxes).set({ end_at: endAt }).where(eq(e2bSandboxes.id, id));
  }

  /** Paused to `snapshot` (null: resumed), with its new end. */
  async setPaused(id: string, snapshot: string | null, endAt: Date): Promise<void> {
    await this.db.orm
      .update(e2bSandboxes)
      .set({ paused_snapshot: snapshot, end_at: endAt })
      .where(eq(e2bSandboxes.id, id));
  }

  async delete(id: string): Promise<void> {
    await this.db.orm.delete(e2bSandboxes).where(eq(e2bSandboxes.id, id));
  }

  /** The sandbox, if its end has passed (read again under its lock before acting on it). */
  async expiredOne(id: string): Promise<SandboxRow | null> {
    const rows = await this.db.orm
      .select()
      .from(e2bSandboxes)
      .where(and(eq(e2bSandboxes.id, id), lte(e2bSandboxes.end_at, sql`now()`)));
    return rows[0] ?? null;
  }

  /** Sandboxes whose end has passed (the database's clock decides). */
  async expired(): Promise<SandboxRow[]> {
    return this.db.orm
      .select()
      .from(e2bSandboxes)
      .where(lte(e2bSandboxes.end_at, sql`now()`));
  }
}
