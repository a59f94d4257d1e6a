import type { Db } from './db.ts';
import { migrate } from './migrations.ts';
import { openPglite } from './pglite.ts';
import { openPostgres } from './postgres.ts';

export type { Db } from './db.ts';
export { driverError, isUniqueViolation } from './db.ts';

/** PostgreSQL when a URL is given, otherwise embedded PGlite in `pgliteDir` (null: in memory). */
export async function openDb(opts: { url?: string | null; pgliteDir: string | null }): Promise<Db> {
  const db = opts.url ? await openPostgres(opts.url) : await openPglite(opts.pgliteDir);
  await migrate(db);
  return db;
}
