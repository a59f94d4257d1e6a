import pg from 'pg';
import { drizzle } from 'drizzle-orm/node-postgres';
import type { Db } from './db.ts';
import { pgDump } from './dump.ts';
import { nameStatements } from './named-statements.ts';
import { markFromPool } from './unreachable.ts';

// int8 (counts, sizes, sequence numbers) fit in a double for our purposes.
pg.types.setTypeParser(20, (v) => Number(v));

export async function openPostgres(url: string): Promise<Db> {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // An idle pooled connection the server ends (a restart, a failover, an administrator's
  // pg_terminate_backend) is an 'error' on the pool: unhandled, it would end the process. The pool
  // drops that connection by itself and opens new ones as requests come.
  pool.on('error', () => undefined);
  nameStatements(pool);
  markPoolErrors(pool);
  await pool.query('select 1');
  return {
    kind: 'postgres',
    orm: drizzle({ client: pool }),
    query: async (sql, params) => (await pool.query(sql, params as unknown[])).rows,
    exec: async (sql) => void (await pool.query(sql)),
    transaction: async (fn) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN').catch((e: unknown) => {
          throw markFromPool(e);
        });
        const out = await fn({
          query: async (sql, params) => (await client.query(sql, params as unknown[])).rows,
        });
        await client.query('COMMIT');
        return out;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
    dumpTo: (file) => pgDump(url, file),
    listen: (channel, onMessage, onReconnect) => listen(url, channel, onMessage, onReconnect),
  };
}

/** See Db.listen: one dedicated client, replaced after an error or end until `stop`. */
async function listen(
  url: string,
  channel: string,
  onMessage: (payload: string) => void,
  onReconnect: () => void,
): Promise<() => Promise<void>> {
  let stopped = false;
  let client: pg.Client | null = null;
  let retry: NodeJS.Timeout | null = null;
  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url });
    c.on('notification', (n) => {
      if (n.channel === channel && n.payload !== undefined) onMessage(n.payload);
    });
    const lost = () => {
      if (client !== c || stopped) return;
      client = null;
      void c.end().catch(() => undefined);
      schedule(250);
    };
    c.on('error', lost);
    c.on('end', lost);
    await c.connect();
    await c.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    client = c;
  };
  const schedule = (ms: number) => {
    retry = setTimeout(() => {
      retry = null;
      if (stopped) return;
      connect().then(onReconnect, () => schedule(Math.min(ms * 2, 5000)));
    }, ms);
    retry.unref();
  };
  await connect();
  return async () => {
    stopped = true;
    if (retry) clearTimeout(retry);
    const c = client;
    client = null;
    await c?.end().catch(() => undefined);
  };
}

/**
 * Every error the pool's own calls throw is marked as the pool's (the ORM wraps them), so the
 * API can tell "the database is unreachable" from a failed query (db/unreachable.ts).
 */
function markPoolErrors(pool: pg.Pool): void {
  type Fn = (...args: unknown[]) => unknown;
  const marked =
    (fn: Fn): Fn =>
    (...args) => {
      const r = fn(...args);
      return r instanceof Promise
        ? r.catch((e: unknown) => {
            throw markFromPool(e);
          })
        : r;
    };
  const p = pool as unknown as { query: Fn; connect: Fn };
  p.query = marked(pool.query.bind(pool) as Fn);
  p.connect = marked(pool.connect.bind(pool) as Fn);
}
