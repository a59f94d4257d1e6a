import { type Template, type TemplateSpec } from '@hearth/contract';
import { eq, sql } from 'drizzle-orm';
import type { Db } from '../db/index.ts';
import { templates } from '../db/schema.ts';
import { Finder, notFound, tableRows } from './lookup.ts';

export type TemplateRow = typeof templates.$inferSelect;

export function templateFromRow(r: TemplateRow): Template {
  return {
    id: r.id,
    name: r.name,
    project: r.project,
    description: r.description,
    spec: r.spec,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  };
}

export class TemplateStore {
  private readonly find: Finder<TemplateRow>;

  constructor(private readonly db: Db) {
    this.find = new Finder<TemplateRow>(
      templates,
      tableRows(this.db.orm, templates),
      notFound('TEMPLATE_NOT_FOUND', 'template'),
    );
  }

  async insert(t: Omit<TemplateRow, 'created_at' | 'updated_at'>): Promise<TemplateRow> {
    const rows = await this.db.orm.insert(templates).values(t).returning();
    return rows[0]!;
  }

  /** By id or name inside `project` (a user lookup). */
  require(idOrName: string, project: string): Promise<TemplateRow> {
    return this.find.require(idOrName, project);
  }

  list(f: { project: string; limit: number; cursor?: string | undefined }) {
    return this.find.page(f, [this.find.inProject(f.project)]);
  }

  /** Changes the fields given; the others keep their values. */
  async update(
    id: string,
    patch: { description?: string | undefined; spec?: TemplateSpec | undefined },
  ): Promise<TemplateRow> {
    const rows = await this.db.orm
      .update(templates)
      .set({ description: patch.description, spec: patch.spec, updated_at: sql`now()` })
      .where(eq(templates.id, id))
      .returning();
    return rows[0]!;
  }

  async delete(id: string): Promise<void> {
    await this.db.orm.delete(templates).where(eq(templates.id, id));
  }
}
