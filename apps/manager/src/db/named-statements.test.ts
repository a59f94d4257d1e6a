import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { freshDatabase, pgSkipReason, testPgUrl } from '../../../../test/helpers/pg.ts';
import { nameStatements, StatementNames } from './named-statements.ts';

describe('StatementNames', () => {
  it('names a text from its third run, and the same name every run after', () => {
    const names = new StatementNames();
    expect(names.nameFor('select $1', 1)).toBeUndefined();
    expect(names.nameFor('select $1', 1)).toBeUndefined();
    const name = names.nameFor('select $1', 1);
    expect(name).toMatch(/^hearth_\d+$/);
    expect(names.nameFor('select $1', 1)).toBe(name);
    expect(names.nameFor('select $1 + 1', 1)).toBeUndefined();
  });

  it('leaves unnamed: no parameters, too many, a bare star, past the cap', () => {
    const names = new StatementNames({ after: 1, named: 2, counted: 10, params: 3 });
    expect(names.nameFor('begin', 0)).toBeUndefined();
    expect(names.nameFor('select $1, $2, $3, $4', 4)).toBeUndefined();
    expect(names.nameFor('select * from t where a = $1', 1)).toBeUndefined();
    expect(names.nameFor('select m.* from t m where a = $1', 1)).toBeUndefined();
    expect(names.nameFor('insert into t values ($1) returning *', 1)).toBeUndefined();
    expect(names.nameFor('select count(*) from t where a = $1', 1)).toBeDefined();
    expect(names.nameFor('select 2 + $1', 1)).toBeDefined();
    expect(names.nameFor('select 3 + $1', 1)).toBeUndefined(); // two named: the cap
    expect(names.size).toBe(2);
  });

  it('starts counting over when the count of unnamed texts is full', () => {
    const names = new StatementNames({ after: 2, named: 10, counted: 2, params: 3 });
    names.nameFor('a $1', 1);
    names.nameFor('b $1', 1);
    names.nameFor('c $1', 1); // full: the counts are cleared
    expect(names.nameFor('a $1', 1)).toBeUndefined();
    expect(names.nameFor('a $1', 1)).toBeDefined();
  });

  it('never names again a text whose cached plan no longer fits; other errors change nothing', () => {
    const names = new StatementNames({ after: 1, named: 10, counted: 10, params: 3 });
    const name = names.nameFor('select b from t where a = $1', 1);
    names.failed('select b from t where a = $1', { code: '23505', message: 'duplicate key' });
    expect(names.nameFor('select b from t where a = $1', 1)).toBe(name);
    names.failed('select b from t where a = $1', {
      code: '0A000',
      message: 'cached plan must not change result type',
    });
    expect(names.nameFor('select b from t where a = $1', 1)).toBeUndefined();
    expect(names.size).toBe(0);
  });
});

describe.skipIf(pgSkipReason())('named statements on PostgreSQL', () => {
  let pool: pg.Pool;
  let drop: () => Promise<void>;
  // One connection: the statements this test names are the ones its next query can see.
  const prepared = async () =>
    (
      await pool.query<{ statement: string }>('SELECT statement FROM pg_prepared_statements ORDER BY name')
    ).rows.map((r) => r.statement);

  beforeAll(async () => {
    const fresh = await freshDatabase(testPgUrl()!);
    drop = fresh.drop;
    pool = new pg.Pool({ connectionString: fresh.url, max: 1 });
    nameStatements(pool);
    await pool.query('CREATE TABLE t (a int, b int); INSERT INTO t VALUES (1, 10), (2, 20)');
  });
  afterAll(async () => {
    await pool?.end();
    await drop?.();
  });

  it('prepares a statement on its third run, with each run answering its own parameters', async () => {
    const text = 'SELECT b FROM t WHERE a = $1';
    expect((await pool.query(text, [1])).rows).toEqual([{ b: 10 }]);
    expect((await pool.query(text, [2])).rows).toEqual([{ b: 20 }]);
    expect(await prepared()).toEqual([]);
    expect((await pool.query(text, [1])).rows).toEqual([{ b: 10 }]);
    expect(await prepared()).toEqual([text]);
    expect((await pool.query(text, [2])).rows).toEqual([{ b: 20 }]);
    expect(await prepared()).toEqual([text]);
  });

  it("names a client's promise-style queries (a transaction's) as well, config objects included", async () => {
    const text = 'SELECT a FROM t WHERE b = $1';
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      for (const b of [10, 20, 10]) {
        const res = await client.query({ text, rowMode: 'array' }, [b]);
        expect(res.rows).toEqual([[b / 10]]);
      }
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    expect(await prepared()).toContain(text);
  });

  it('leaves texts with a bare star unnamed, and runs several statements without parameters', async () => {
    for (let i = 0; i < 4; i++) await pool.query('SELECT * FROM t WHERE a = $1', [1]);
    expect(await prepared()).not.toContain('SELECT * FROM t WHERE a = $1');
    const res = (await pool.query('SELECT 1 AS x; SELECT 2 AS y')) as unknown as pg.QueryResult[];
    expect(res.map((r) => r.rows[0])).toEqual([{ x: 1 }, { y: 2 }]);
  });

  it('after a column changes type under a named statement, one run fails and the next is planned afresh', async () => {
    const text = 'SELECT b FROM t WHERE a = $1 AND $2::int > 0';
    for (let i = 0; i < 3; i++) await pool.query(text, [1, 1]);
    expect(await prepared()).toContain(text);
    await pool.query('ALTER TABLE t ALTER COLUMN b TYPE text');
    await expect(pool.query(text, [1, 1])).rejects.toThrow(/cached plan must not change result type/);
    expect((await pool.query(text, [1, 1])).rows).toEqual([{ b: '10' }]);
  });
});
