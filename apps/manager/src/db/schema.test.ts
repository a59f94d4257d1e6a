import { getTableConfig } from 'drizzle-orm/pg-core';
import { afterAll, describe, expect, it } from 'vitest';
import { freshDatabase, testPgUrl } from '../../../../test/helpers/pg.ts';
import { openDb, type Db } from './index.ts';
import { tables } from './schema-tables.ts';

interface Col {
  type: string;
  nullable: boolean;
  hasDefault: boolean;
}

/** The migrated database as information_schema describes it: table → column → facts. */
async function migrated(db: Db): Promise<Record<string, Record<string, Col>>> {
  const rows = await db.query<{
    table_name: string;
    column_name: string;
    data_type: string;
    is_nullable: string;
    column_default: string | null;
  }>(
    `SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name <> 'schema_migrations' ORDER BY table_name, column_name`,
  );
  const out: Record<string, Record<string, Col>> = {};
  for (const r of rows) {
    (out[r.table_name] ??= {})[r.column_name] = {
      type: r.data_type,
      nullable: r.is_nullable === 'YES',
      hasDefault: r.column_default !== null,
    };
  }
  return out;
}

/** The Drizzle schema in the same terms (bigserial is a bigint with a sequence default). */
function declared(): Record<string, Record<string, Col>> {
  const out: Record<string, Record<string, Col>> = {};
  for (const table of Object.values(tables)) {
    const cfg = getTableConfig(table);
    const cols: Record<string, Col> = {};
    for (const c of cfg.columns) {
      const serial = c.getSQLType() === 'bigserial';
      cols[c.name] = {
        // information_schema names every array type ARRAY (its element type is elsewhere).
        type: serial ? 'bigint' : c.getSQLType().endsWith('[]') ? 'ARRAY' : c.getSQLType(),
        nullable: !c.notNull,
        hasDefault: c.hasDefault || serial,
      };
    }
    out[cfg.name] = cols;
  }
  return out;
}

const sorted = (o: Record<string, Record<string, Col>>) =>
  Object.fromEntries(
    Object.keys(o)
      .sort()
      .map((t) => [
        t,
        Object.fromEntries(
          Object.keys(o[t]!)
            .sort()
            .map((c) => [c, o[t]![c]]),
        ),
      ]),
  );

describe('the Drizzle schema matches the migrated database', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const fn of cleanup.reverse()) await fn();
  });

  it('on PGlite', async () => {
    const db = await openDb({ pgliteDir: null });
    cleanup.push(() => db.close());
    expect(sorted(declared())).toEqual(sorted(await migrated(db)));
  });

  it('on PostgreSQL', async () => {
    const base = testPgUrl();
    if (!base) throw new Error('HEARTH_TEST_PG_URL is not set: run this file through scripts/with-pg.sh');
    const fresh = await freshDatabase(base);
    cleanup.push(fresh.drop);
    const db = await openDb({ url: fresh.url, pgliteDir: null });
    cleanup.push(() => db.close());
    expect(sorted(declared())).toEqual(sorted(await migrated(db)));
  });
});
