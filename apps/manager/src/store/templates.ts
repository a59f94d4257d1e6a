import { HearthError, type Template, type TemplateSpec } from '@hearth/contract';
import type { Db } from '../db/index.ts';
import { decodeCursor, pageResult } from './page.ts';

export interface TemplateRow {
  id: string;
  name: string;
  project: string;
  description: string;
  spec: TemplateSpec;
  created_at: Date;
  updated_at: Date;
}

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
  constructor(private readonly db: Db) {}

  async insert(t: Omit<TemplateRow, 'created_at' | 'updated_at'>): Promise<TemplateRow> {
    const rows = await this.db.query<TemplateRow>(
      'INSERT INTO templates (id, name, project, description, spec) VALUES ($1,$2,$3,$4,$5::jsonb) RETURNING *',
      [t.id, t.name, t.project, t.description, JSON.stringify(t.spec)],
    );
    return rows[0]!;
  }

  async require(idOrName: string): Promise<TemplateRow> {
    const rows = await this.db.query<TemplateRow>(
      'SELECT * FROM templates WHERE id = $1 OR name = $1 ORDER BY (id = $1) DESC LIMIT 1',
      [idOrName],
    );
    if (!rows[0]) {
      throw new HearthError(
        'TEMPLATE_NOT_FOUND',
        `Finding template "${idOrName}" failed: no template has that id or name.`,
      );
    }
    return rows[0];
  }

  async list(f: { limit: number; cursor?: string | undefined }) {
    const after = decodeCursor(f.cursor);
    const rows = await this.db.query<TemplateRow>(
      `SELECT * FROM templates ${after ? 'WHERE id > $2' : ''} ORDER BY id LIMIT $1`,
      after ? [f.limit + 1, after] : [f.limit + 1],
    );
    return pageResult(rows, f.limit, (r) => r.id);
  }

  async update(
    id: string,
    patch: { description?: string | undefined; spec?: TemplateSpec | undefined },
  ): Promise<TemplateRow> {
    const rows = await this.db.query<TemplateRow>(
      `UPDATE templates SET description = COALESCE($2, description), spec = COALESCE($3::jsonb, spec), updated_at = now()
       WHERE id = $1 RETURNING *`,
      [id, patch.description ?? null, patch.spec ? JSON.stringify(patch.spec) : null],
    );
    return rows[0]!;
  }

  async delete(id: string): Promise<void> {
    await this.db.query('DELETE FROM templates WHERE id = $1', [id]);
  }
}
