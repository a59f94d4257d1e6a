import { afterAll, describe, expect, it } from 'vitest';
import { freshDatabase, testPgUrl } from '../../../../test/helpers/pg.ts';
import type { Db } from './db.ts';
import { migrate, migrations } from './migrations.ts';
import { openPostgres } from './postgres.ts';

describe('migrations on one PostgreSQL shared by managers starting together', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const fn of cleanup.reverse()) await fn();
  });

  it('run once: three concurrent starts split the versions between them and none fails', async () => {
    const base = testPgUrl();
    if (!base) throw new Error('HEARTH_TEST_PG_URL is not set: run this file through scripts/with-pg.sh');
    const fresh = await freshDatabase(base);
    cleanup.push(fresh.drop);
    // Separate pools, as separate manager processes would have.
    const dbs: Db[] = [];
    for (let i = 0; i < 3; i++) {
      const db = await openPostgres(fresh.url);
      cleanup.push(() => db.close());
      dbs.push(db);
    }
    const applied = await Promise.all(dbs.map((db) => migrate(db)));
    const all = applied.flat().sort((a, b) => a - b);
    expect(all).toEqual(migrations.map((m) => m.version).sort((a, b) => a - b));
    const rows = await dbs[0]!.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
    expect(rows[0]!.n).toBe(migrations.length);
    // A later start finds nothing to do.
    expect(await migrate(dbs[1]!)).toEqual([]);
  });
});
