import type { ProjectRole } from '@hearth/contract';
import { and, eq } from 'drizzle-orm';
import type { Db } from '../db/index.ts';
import { memberships, projects } from '../db/schema.ts';

/** Projects (namespaces keyed by name) and who holds which role in them. */
export class ProjectStore {
  constructor(private readonly db: Db) {}

  /** Whether the project exists, and the user's role in it (null: not a member). */
  async roleOf(
    project: string,
    userId: string | null,
  ): Promise<{ exists: boolean; role: ProjectRole | null }> {
    const rows = await this.db.orm
      .select({ role: memberships.role })
      .from(projects)
      .leftJoin(
        memberships,
        and(eq(memberships.project, projects.name), eq(memberships.user_id, userId ?? '')),
      )
      .where(eq(projects.name, project));
    const row = rows[0];
    return { exists: row !== undefined, role: row?.role ?? null };
  }
}
