import { HearthError, newId, type ProjectRole } from '@hearth/contract';
import { and, asc, eq, gt, sql, type SQL } from 'drizzle-orm';
import { isUniqueViolation } from '../db/index.ts';
import type { Db } from '../db/index.ts';
import type { ProjectQuotas } from '../db/schema.ts';
import { memberships, projects, users } from '../db/schema.ts';
import { decodeCursor, pageResult } from './page.ts';
import type { PageQuery } from './lookup.ts';
import { DEFAULT_PROJECT } from '../auth/authority.ts';

type ProjectRow = typeof projects.$inferSelect;
export interface MemberRow {
  user_id: string;
  user_name: string;
  role: ProjectRole;
  created_at: Date;
}
type Tx = Pick<Db, 'query'>;

/** Kinds of resource a project holds, by table; a project is deleted only when all are empty. */
const RESOURCE_TABLES = ['vms', 'volumes', 'snapshots', 'templates', 'networks', 'images'] as const;

const projectMissing = (name: string) =>
  new HearthError('PROJECT_NOT_FOUND', `Finding project "${name}" failed: no such project.`);

/**
 * Columns that read, in a credential's own query, whether `project` exists and the role `userId`
 * holds there: authorization then needs no second round trip.
 */
export function roleColumns(project: SQL, userId: SQL) {
  return {
    roleProject: sql<string>`${project}`,
    roleProjectExists: sql<boolean>`EXISTS (SELECT 1 FROM projects rp WHERE rp.name = ${project})`,
    memberRole: sql<ProjectRole | null>`(SELECT rm.role FROM memberships rm
      WHERE rm.project = ${project} AND rm.user_id = ${userId})`,
  };
}

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

  async get(name: string): Promise<ProjectRow | null> {
    const rows = await this.db.orm.select().from(projects).where(eq(projects.name, name));
    return rows[0] ?? null;
  }

  async require(name: string): Promise<ProjectRow> {
    const row = await this.get(name);
    if (!row) throw projectMissing(name);
    return row;
  }

  /**
   * A page of projects in id order with the caller's role: every project (as owner) for an
   * administrator (`userId` null), else those the user is a member of.
   */
  async page(q: PageQuery, userId: string | null) {
    const after = decodeCursor(q.cursor);
    const next = after === null ? undefined : gt(projects.id, after);
    const base = this.db.orm
      .select({ project: projects, role: userId === null ? sql<ProjectRole>`'owner'` : memberships.role })
      .from(projects)
      .$dynamic();
    const rows = await (
      userId === null
        ? base.where(next)
        : base
            .innerJoin(memberships, eq(memberships.project, projects.name))
            .where(and(eq(memberships.user_id, userId), next))
    )
      .orderBy(asc(projects.id))
      .limit(q.limit + 1);
    return pageResult(rows, q.limit, (r) => r.project.id);
  }

  /** Every project name (an administrator's view of its projects). */
  async names(): Promise<string[]> {
    const rows = await this.db.orm.select({ name: projects.name }).from(projects).orderBy(projects.name);
    return rows.map((r) => r.name);
  }

  /** Changes the description and merges `quotas` into the current ones (null removes a limit). */
  async patch(
    name: string,
    patch: { description?: string; quotas?: Record<string, number | null | undefined> },
  ): Promise<ProjectRow> {
    const set: Record<string, number> = {};
    const unset: string[] = [];
    for (const [k, v] of Object.entries(patch.quotas ?? {})) {
      if (v === null) unset.push(k);
      else if (v !== undefined) set[k] = v;
    }
    // One statement: concurrent patches of different limits both land.
    let quotas = sql`(${projects.quotas} || ${JSON.stringify(set)}::jsonb)`;
    for (const k of unset) quotas = sql`(${quotas} - ${k}::text)`;
    const rows = await this.db.orm
      .update(projects)
      .set({ ...(patch.description === undefined ? {} : { description: patch.description }), quotas })
      .where(eq(projects.name, name))
      .returning();
    if (!rows[0]) throw projectMissing(name);
    return rows[0];
  }

  /**
   * Deletes an empty project with its memberships; tokens scoped to it go too (a project made
   * later under the same name must not inherit them), and users who defaulted to it lose that.
   */
  async delete(name: string): Promise<void> {
    if (name === DEFAULT_PROJECT) {
      throw new HearthError('PROJECT_BUILTIN', 'Deleting project "default" failed: it is built in.');
    }
    await this.db.transaction(async (tx) => {
      await lockProject(tx, name);
      const counts: Record<string, number> = {};
      for (const t of RESOURCE_TABLES) {
        const r = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t} WHERE project = $1`, [
          name,
        ]);
        counts[t] = Number(r[0]!.n);
      }
      const held = Object.entries(counts).filter(([, n]) => n > 0);
      if (held.length) {
        throw new HearthError(
          'PROJECT_NOT_EMPTY',
          `Deleting project "${name}" failed: it still has ${held.map(([k, n]) => `${n} ${k}`).join(', ')}.`,
          { detail: counts },
        );
      }
      await tx.query('DELETE FROM tokens WHERE project = $1', [name]);
      await tx.query('UPDATE users SET default_project = NULL WHERE default_project = $1', [name]);
      await tx.query('DELETE FROM projects WHERE name = $1', [name]);
    });
  }

  async members(project: string): Promise<MemberRow[]> {
    return this.db.orm
      .select({
        user_id: memberships.user_id,
        user_name: users.name,
        role: memberships.role,
        created_at: memberships.created_at,
      })
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.user_id))
      .where(eq(memberships.project, project))
      .orderBy(users.name);
  }

  /** Adds a member or changes their role. */
  async setMember(project: string, userId: string, role: ProjectRole): Promise<void> {
    await this.db.orm
      .insert(memberships)
      .values({ project, user_id: userId, role })
      .onConflictDoUpdate({ target: [memberships.project, memberships.user_id], set: { role } });
  }

  /** Sets a member's role, refusing to demote the project's only owner. */
  async putMember(project: string, userId: string, role: ProjectRole): Promise<void> {
    await this.db.transaction(async (tx) => {
      await lockProject(tx, project);
      const current = await roleIn(tx, project, userId);
      if (current === 'owner' && role !== 'owner') await refuseLastOwner(tx, project, userId, 'Demoting');
      await tx.query(
        `INSERT INTO memberships (project, user_id, role) VALUES ($1, $2, $3)
         ON CONFLICT (project, user_id) DO UPDATE SET role = EXCLUDED.role`,
        [project, userId, role],
      );
    });
  }

  /** Removes a member, refusing to remove the project's only owner. */
  async removeMember(project: string, userId: string, userName: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await lockProject(tx, project);
      const current = await roleIn(tx, project, userId);
      if (current === null) {
        throw new HearthError(
          'MEMBER_NOT_FOUND',
          `Removing "${userName}" from project "${project}" failed: they are not a member.`,
        );
      }
      if (current === 'owner') await refuseLastOwner(tx, project, userId, 'Removing');
      await tx.query('DELETE FROM memberships WHERE project = $1 AND user_id = $2', [project, userId]);
    });
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

/** Serializes membership changes of one project, so two demotions cannot leave it without an owner. */
async function lockProject(tx: Tx, name: string): Promise<void> {
  const rows = await tx.query('SELECT name FROM projects WHERE name = $1 FOR UPDATE', [name]);
  if (!rows.length) throw projectMissing(name);
}

async function roleIn(tx: Tx, project: string, userId: string): Promise<ProjectRole | null> {
  const rows = await tx.query<{ role: ProjectRole }>(
    'SELECT role FROM memberships WHERE project = $1 AND user_id = $2',
    [project, userId],
  );
  return rows[0]?.role ?? null;
}

async function refuseLastOwner(tx: Tx, project: string, userId: string, doing: string): Promise<void> {
  const others = await tx.query(
    `SELECT 1 FROM memberships WHERE project = $1 AND role = 'owner' AND user_id <> $2 LIMIT 1`,
    [project, userId],
  );
  if (!others.length) {
    throw new HearthError(
      'LAST_OWNER',
      `${doing} the last owner of project "${project}" failed: the project would have no owner.`,
      { detail: { projects: [project] } },
    );
  }
}
