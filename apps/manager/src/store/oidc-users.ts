import { and, eq } from 'drizzle-orm';
import type { Db } from '../db/index.ts';
import { users } from '../db/schema.ts';
import type { UserRow } from './users.ts';

/** The user a provider's subject signed in as before (issuer and subject, never the name). */
export async function userByOidc(db: Db, issuer: string, subject: string): Promise<UserRow | null> {
  const rows = await db.orm
    .select()
    .from(users)
    .where(and(eq(users.oidc_issuer, issuer), eq(users.oidc_subject, subject)));
  return rows[0] ?? null;
}
