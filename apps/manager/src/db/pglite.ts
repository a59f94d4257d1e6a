import { mkdir, writeFile } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import type { Db } from './db.ts';

/** Embedded PostgreSQL (WebAssembly) stored in a directory: the single-machine default. */
export async function openPglite(dir: string | null): Promise<Db> {
  if (dir) await mkdir(dir, { recursive: true });
  const pg = dir ? new PGlite(dir) : new PGlite();
  await pg.waitReady;
  // PGlite is one connection: queue statements so a transaction never interleaves with others.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn);
    chain = next.catch(() => undefined);
    return next;
  };
  return {
    kind: 'pglite',
    // PGlite runs each query and each transaction under one lock of its own, so builder queries
    // never interleave with a transaction either.
    orm: drizzle({ client: pg }),
    query: (sql, params) => serial(async () => (await pg.query(sql, params)).rows as never),
    exec: (sql) => serial(async () => void (await pg.exec(sql))),
    transaction: (fn) =>
      serial(() =>
        pg.transaction((tx) =>
          fn({ query: async (sql, params) => (await tx.query(sql, params)).rows as never }),
        ),
      ),
    close: () => serial(() => pg.close()),
    // In the queue: no transaction of ours is half done while the directory is copied.
    dumpTo: (file) =>
      serial(async () => {
        const tar = await pg.dumpDataDir('none');
        await writeFile(file, Buffer.from(await tar.arrayBuffer()), { mode: 0o600 });
      }),
  };
}
