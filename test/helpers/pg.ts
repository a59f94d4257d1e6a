import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The suite's PostgreSQL (started by scripts/test.sh); required in CI so the PG half can never be skipped silently. */
export function testPgUrl(): string | null {
  const url = process.env.HEARTH_TEST_PG_URL ?? null;
  if (!url && process.env.CI)
    throw new Error('HEARTH_TEST_PG_URL is not set: run the suite through scripts/test.sh');
  return url;
}

/**
 * Why tests on PostgreSQL cannot run here, or null when they can. In CI a missing server is an
 * error (testPgUrl throws), so only a developer's run without scripts/with-pg.sh skips them.
 */
export function pgSkipReason(): string | null {
  return testPgUrl() ? null : 'HEARTH_TEST_PG_URL is not set; run through scripts/with-pg.sh';
}

/** A fresh database per test file, dropped afterwards. */
export async function freshDatabase(baseUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `hearth_test_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: baseUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
