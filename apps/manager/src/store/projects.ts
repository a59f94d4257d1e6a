import { HearthError, newId, type ProjectRole } from '@hearth/contract';
import { isUniqueViolation } from '../db/index.ts';
import type { ProjectQuotas } from '../db/schema.ts';
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

  async create(name: string, opts: { description?: string; quotas?: ProjectQuotas } = {}) {
    try {
      const rows = await this.db.orm
        .insert(projects)
        .values({ id: newId('prj'), name, description: opts.description ?? '', quotas: opts.quotas ?? {} })
        .returning();
      return rows[0]!;
    } catch (e) {
      if (isUniqueViolation(e, 'projects_name_key')) {
        throw new HearthError('PROJECT_NAME_TAKEN', `Creating project "${name}" failed: the name is taken.`);
      }
      throw e;
    }
  }

  /** Adds a member or changes their role. */
  async setMember(project: string, userId: string, role: ProjectRole): Promise<void> {
    await this.db.orm
      .insert(memberships)
      .values({ project, user_id: userId, role })
      .onConflictDoUpdate({ target: [memberships.project, memberships.user_id], set: { role } });
  }

  /** The projects a user belongs to, with the role in each. */
  async membershipsOf(userId: string): Promise<{ project: string; role: ProjectRole }[]> {
    return this.db.orm
      .select({ project: memberships.project, role: memberships.role })
      .from(memberships)
      .where(eq(memberships.user_id, userId))
      .orderBy(memberships.project);
  }
}
