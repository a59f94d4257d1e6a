import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';

/** The typed query builder over either backend (Drizzle's pglite or node-postgres driver). */
export type Orm = PgDatabase<PgQueryResultHKT>;

/** The one database interface both backends implement: the query builder, and plain SQL for migrations. */
export interface Db {
  readonly kind: 'pglite' | 'postgres';
  readonly orm: Orm;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Several statements, no parameters (migrations). */
  exec(sql: string): Promise<void>;
  transaction<T>(fn: (tx: Pick<Db, 'query'>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /** A consistent copy of the whole database into `file` (PGlite: its data directory as a tar; PostgreSQL: pg_dump's custom format). */
  dumpTo(file: string): Promise<void>;
  /**
   * PostgreSQL only: LISTEN on `channel` on a connection of its own, reconnecting (with backoff)
   * when it drops; `onReconnect` runs after each reconnect (notifications meanwhile are lost).
   * Resolves once listening; the returned function stops.
   */
  listen?(
    channel: string,
    onMessage: (payload: string) => void,
    onReconnect: () => void,
  ): Promise<() => Promise<void>>;
}

/** The driver's error (with its SQLSTATE `code`): the query builder wraps it as `cause`. */
export function driverError(
  e: unknown,
): { code?: string; constraint?: string; message?: string } | undefined {
  const err = e as { code?: string; cause?: unknown } | undefined;
  return err?.code === undefined && err?.cause !== undefined ? driverError(err.cause) : (err as never);
}

/** Postgres unique_violation, surfaced the same way by both backends and by the query builder. */
export function isUniqueViolation(e: unknown, constraint?: string): boolean {
  const err = driverError(e);
  if (err?.code !== '23505') return false;
  return (
    constraint === undefined || err.constraint === constraint || (err.message ?? '').includes(constraint)
  );
}
