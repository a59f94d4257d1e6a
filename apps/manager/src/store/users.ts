import { HearthError, newId } from '@hearth/contract';
import { eq, getTableColumns, sql } from 'drizzle-orm';
import type { Db } from '../db/index.ts';
import { isUniqueViolation } from '../db/index.ts';
import { users } from '../db/schema.ts';
import { Finder, notFound, tableRows, type PageQuery } from './lookup.ts';

export type UserRow = typeof users.$inferSelect;
export type NewUser = Pick<UserRow, 'name'> &
  Partial<
    Pick<UserRow, 'display_name' | 'email' | 'password_hash' | 'admin' | 'oidc_issuer' | 'oidc_subject'>
  >;
export type UserPatch = Partial<
  Pick<UserRow, 'display_name' | 'email' | 'password_hash' | 'admin' | 'disabled' | 'default_project'>
>;

/** People who sign in. Password hashes only; the password itself is never stored. */
export class UserStore {
  private readonly find: Finder<UserRow>;

  constructor(private readonly db: Db) {
    this.find = new Finder<UserRow>(
      users,
      tableRows(db.orm, users, getTableColumns(users)),
      notFound('USER_NOT_FOUND', 'user'),
    );
  }

  async create(u: NewUser): Promise<UserRow> {
    try {
      const rows = await this.db.orm
        .insert(users)
        .values({ id: newId('usr'), ...u })
        .returning();
      return rows[0]!;
    } catch (e) {
      if (isUniqueViolation(e, 'users_name_key')) {
        throw new HearthError('USER_NAME_TAKEN', `Creating user "${u.name}" failed: the name is taken.`);
      }
      throw e;
    }
  }

  get(idOrName: string): Promise<UserRow | null> {
    return this.find.get(idOrName);
  }

  require(idOrName: string): Promise<UserRow> {
    return this.find.require(idOrName);
  }

  list(q: PageQuery) {
    return this.find.page(q);
  }

  async count(): Promise<number> {
    const rows = await this.db.orm.select({ n: sql<number>`count(*)::int` }).from(users);
    return rows[0]?.n ?? 0;
  }

  async patch(id: string, patch: UserPatch): Promise<UserRow> {
    const rows = await this.db.orm.update(users).set(patch).where(eq(users.id, id)).returning();
    if (!rows[0]) throw notFound('USER_NOT_FOUND', 'user')(id);
    return rows[0];
  }

  async touchSignIn(id: string): Promise<void> {
    await this.db.orm
      .update(users)
      .set({ last_sign_in_at: sql`now()` })
      .where(eq(users.id, id));
  }

  /**
   * Deletes a user; memberships, sessions and tokens go with it (foreign keys cascade). Refused
   * while the user is the only owner of a project, which would be left without one.
   */
  async delete(id: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      // Locks the projects the user owns (in name order), as membership changes do.
      await tx.query(
        `SELECT p.name FROM projects p JOIN memberships m ON m.project = p.name
         WHERE m.user_id = $1 AND m.role = 'owner' ORDER BY p.name FOR UPDATE OF p`,
        [id],
      );
      const sole = await tx.query<{ project: string }>(
        `SELECT m.project FROM memberships m WHERE m.user_id = $1 AND m.role = 'owner'
           AND NOT EXISTS (SELECT 1 FROM memberships o
                           WHERE o.project = m.project AND o.role = 'owner' AND o.user_id <> $1)
         ORDER BY m.project`,
        [id],
      );
      if (sole.length) {
        const names = sole.map((r) => r.project);
        throw new HearthError(
          'LAST_OWNER',
          `Deleting the user failed: they are the last owner of ${names.map((n) => `"${n}"`).join(', ')}.`,
          { detail: { projects: names } },
        );
      }
      const gone = await tx.query('DELETE FROM users WHERE id = $1 RETURNING id', [id]);
      if (!gone.length) throw notFound('USER_NOT_FOUND', 'user')(id);
    });
  }
}

/**
 * The project a user acts in when a request names none: the one they chose, else `default` when
 * they belong to it, else their first project by name (a user outside `default` must not be sent
 * to a project they cannot see).
 */
export const effectiveDefaultProject = sql<string | null>`coalesce(${users.default_project}, (
  SELECT m.project FROM memberships m WHERE m.user_id = ${users.id}
  ORDER BY (m.project = 'default') DESC, m.project LIMIT 1))`;
