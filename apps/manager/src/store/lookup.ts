import { HearthError, type ErrorCode } from '@hearth/contract';
import { and, asc, desc, eq, getTableColumns, getTableName, gt, lt, or, sql, type SQL } from 'drizzle-orm';
import type { PgColumn, PgSelect, PgTable, SelectedFields } from 'drizzle-orm/pg-core';
import type { Orm } from '../db/db.ts';
import { decodeCursor, pageResult } from './page.ts';

/** One store's base read (with its computed columns): filter, order and optional limit. */
export type Rows<T> = (where: SQL | undefined, order: SQL[], limit?: number) => Promise<T[]>;

/**
 * A column named with its table, for correlated subqueries inside a select list (where the query
 * builder names a single table's columns bare, which a subquery would resolve to its own table).
 */
export function outer(c: PgColumn): SQL {
  return sql`${sql.identifier(getTableName(c.table))}.${sql.identifier(c.name)}`;
}

/** A dynamic select, limited when a limit is given. */
export function upTo<Q extends PgSelect>(q: Q, limit: number | undefined): Q {
  return limit === undefined ? q : (q.limit(limit) as Q);
}

/** The base read of one table: its columns, or `fields` when some are computed. */
export function tableRows<T>(
  orm: Orm,
  table: PgTable,
  fields: SelectedFields = getTableColumns(table),
): Rows<T> {
  return (where, order, limit) =>
    upTo(
      orm
        .select(fields)
        .from(table)
        .where(where)
        .orderBy(...order)
        .$dynamic(),
      limit,
    ) as Promise<T[]>;
}

/** The refusal for a named resource that is not there, in one wording for all of them. */
export function notFound(code: ErrorCode, noun: string): (idOrName: string) => HearthError {
  return (idOrName) =>
    new HearthError(code, `Finding ${noun} "${idOrName}" failed: no ${noun} has that id or name.`);
}

export interface PageQuery {
  limit: number;
  cursor?: string | undefined;
}

/** The columns every named resource has; `project` for those whose names are unique per project. */
interface Named {
  id: PgColumn;
  name: PgColumn;
  project?: PgColumn;
}

/**
 * The get/require/list skeleton every named resource shares: found by id or name (an id match
 * wins; among same-named rows of several projects, "default" wins; `project` narrows names), and
 * listed a page at a time in id order with an opaque cursor.
 */
export class Finder<T extends { id: string }> {
  constructor(
    private readonly t: Named,
    private readonly rows: Rows<T>,
    private readonly missing: (idOrName: string) => HearthError,
  ) {}

  async get(idOrName: string, project?: string): Promise<T | null> {
    const byName =
      project !== undefined && this.t.project
        ? and(eq(this.t.name, idOrName), eq(this.t.project, project))
        : eq(this.t.name, idOrName);
    const order = [desc(sql`${this.t.id} = ${idOrName}`)];
    if (this.t.project) order.push(desc(sql`${this.t.project} = 'default'`));
    const rows = await this.rows(or(eq(this.t.id, idOrName), byName), order, 1);
    return rows[0] ?? null;
  }

  async require(idOrName: string, project?: string): Promise<T> {
    const row = await this.get(idOrName, project);
    if (!row) throw this.missing(idOrName);
    return row;
  }

  /** Every row, unpaged. */
  all(order: SQL[], where?: SQL, limit?: number): Promise<T[]> {
    return this.rows(where, order, limit);
  }

  /** A page after the cursor; `newestFirst` walks ids downwards. */
  async page(q: PageQuery, filters: (SQL | undefined)[] = [], newestFirst = false) {
    const after = decodeCursor(q.cursor);
    const next = after === null ? undefined : newestFirst ? lt(this.t.id, after) : gt(this.t.id, after);
    const order = newestFirst ? desc(this.t.id) : asc(this.t.id);
    const rows = await this.rows(and(...filters, next), [order], q.limit + 1);
    return pageResult(rows, q.limit, (r) => r.id);
  }
}
