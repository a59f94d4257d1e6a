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

  async delete(id: string): Promise<void> {
    await this.db.orm.delete(users).where(eq(users.id, id));
  }
}
