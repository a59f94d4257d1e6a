import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { sql } from 'drizzle-orm';
import { freshDatabase, testPgUrl } from '../../../../test/helpers/pg.ts';
import { startPgServer } from '../../../../test/helpers/pg-server.ts';
import { openPostgres } from './postgres.ts';
import { isDatabaseUnreachable } from './unreachable.ts';

describe('the PostgreSQL pool when the server drops its connections', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const fn of cleanup.reverse()) await fn();
  });

  it('survives idle connections being terminated (a restart or failover) and queries again', async () => {
    const base = testPgUrl();
    if (!base) throw new Error('HEARTH_TEST_PG_URL is not set: run this file through scripts/with-pg.sh');
    const fresh = await freshDatabase(base);
    cleanup.push(fresh.drop);
    const db = await openPostgres(fresh.url);
    cleanup.push(() => db.close());
    await Promise.all([db.query('select 1'), db.query('select 2')]);
    // What a server restart does to the pool's idle connections, without restarting the suite's server.
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    const name = new URL(fresh.url).pathname.slice(1);
    const killed = await admin.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [name],
    );
    await admin.end();
    expect(killed.rowCount).toBeGreaterThan(0);
    // An unhandled 'error' event would end the test process here; instead the next query reconnects.
    await new Promise((r) => setTimeout(r, 500));
    expect(await db.query<{ n: number }>('select 7 as n')).toEqual([{ n: 7 }]);
  });
});

describe('a PostgreSQL that cannot be reached', () => {
  it("is told apart from a failed query, through the ORM's wrapping too", async () => {
    const server = await startPgServer();
    try {
      const db = await openPostgres(server.url);
      try {
        const bad = await db.query('select nope').catch((e: unknown) => e);
        expect(bad).toBeInstanceOf(Error);
        expect(isDatabaseUnreachable(bad)).toBe(false);
        server.stop();
        const raw = await db.query('select 1').catch((e: unknown) => e);
        expect(isDatabaseUnreachable(raw)).toBe(true);
        const viaOrm = await db.orm.execute(sql`select 1`).catch((e: unknown) => e);
        expect(isDatabaseUnreachable(viaOrm)).toBe(true);
        const tx = await db.transaction(async (t) => t.query('select 1')).catch((e: unknown) => e);
        expect(isDatabaseUnreachable(tx)).toBe(true);
        server.start();
        expect(await db.query<{ n: number }>('select 3 as n')).toEqual([{ n: 3 }]);
      } finally {
        await db.close();
      }
    } finally {
      await server.dispose();
    }
  });
});
