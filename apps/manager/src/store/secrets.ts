import type { z } from 'zod';
import { newId, type Secret } from '@hearth/contract';
import { and, asc, eq, gt, inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/index.ts';
import { secrets } from '../db/schema.ts';
import { decodeCursor, pageResult } from './page.ts';

export type SecretRow = typeof secrets.$inferSelect;

/** The API's view: never the value. */
export function secretFromRow(r: SecretRow): z.infer<typeof Secret> {
  return {
    id: r.id,
    name: r.name,
    project: r.project,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  };
}

/** Project secrets; values arrive and leave sealed (the service seals and opens them). */
export class SecretStore {
  constructor(private readonly db: Db) {}

  /** Creates or replaces `name` in `project` with the sealed value. */
  async put(project: string, name: string, sealed: string): Promise<SecretRow> {
    const rows = await this.db.orm
      .insert(secrets)
      .values({ id: newId('sec'), name, project, value: sealed })
      .onConflictDoUpdate({
        target: [secrets.project, secrets.name],
        set: { value: sealed, updated_at: sql`now()` },
      })
      .returning();
    return rows[0]!;
  }

  async get(project: string, name: string): Promise<SecretRow | null> {
    const rows = await this.db.orm
      .select()
      .from(secrets)
      .where(and(eq(secrets.project, project), eq(secrets.name, name)));
    return rows[0] ?? null;
  }

  /** The named secrets of `project` that exist. */
  async many(project: string, names: string[]): Promise<SecretRow[]> {
    if (!names.length) return [];
    return this.db.orm
      .select()
      .from(secrets)
      .where(and(eq(secrets.project, project), inArray(secrets.name, names)));
  }

  async list(f: { project: string; limit: number; cursor?: string | undefined }) {
    const after = decodeCursor(f.cursor);
    const rows = await this.db.orm
      .select()
      .from(secrets)
      .where(and(eq(secrets.project, f.project), after === null ? undefined : gt(secrets.id, after)))
      .orderBy(asc(secrets.id))
      .limit(f.limit + 1);
    return pageResult(rows, f.limit, (r) => r.id);
  }

  async delete(id: string): Promise<void> {
    await this.db.orm.delete(secrets).where(eq(secrets.id, id));
  }
}
