import { HearthError, type ErrorCode } from '@hearth/contract';
import {
  and,
  asc,
  desc,
  eq,
  getTableColumns,
  getTableName,
  gt,
  isNull,
  lt,
  or,
  sql,
  type SQL,
} from 'drizzle-orm';
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

/** The columns every named resource has; `project` for those that live in projects. */
interface Named {
  id: PgColumn;
  name: PgColumn;
  project?: PgColumn;
}

/**
 * The get/require/list skeleton every named resource shares. A user lookup names the project it
 * acts in: it finds a row by id or by name only inside that project (and, with `shared`, among the
 * global rows whose project is NULL: built-in images, the shared network); a row of the project
 * wins over a global one of the same name. `getUnscoped` finds by id in any project, for the
 * internal paths that hold an id from the database already (agents, reconciliation, follow-ups).
 * Lists go a page at a time in id order with an opaque cursor.
 */
export class Finder<T extends { id: string }> {
  constructor(
    private readonly t: Named,
    private readonly rows: Rows<T>,
    private readonly missing: (idOrName: string) => HearthError,
    private readonly shared = false,
  ) {}

  /** The rows a user acting in `project` may see; no condition for tables outside projects. */
  inProject(project: string): SQL | undefined {
    const col = this.t.project;
    if (!col) return undefined;
    return this.shared ? or(eq(col, project), isNull(col)) : eq(col, project);
  }

  /** By id or name inside `project` (plus global rows for shared tables); undefined: a table outside projects. */
  async get(idOrName: string, project?: string): Promise<T | null> {
    if (project === undefined && this.t.project)
      throw new Error('a lookup in a table of projects needs a project; use getUnscoped');
    const scope = project === undefined ? undefined : this.inProject(project);
    const order = [desc(sql`${this.t.id} = ${idOrName}`)];
    if (this.shared && this.t.project) order.push(asc(sql`${this.t.project} IS NULL`));
    const rows = await this.rows(
      and(or(eq(this.t.id, idOrName), eq(this.t.name, idOrName)), scope),
      order,
      1,
    );
    return rows[0] ?? null;
  }

  async require(idOrName: string, project?: string): Promise<T> {
    const row = await this.get(idOrName, project);
    if (!row) throw this.missing(idOrName);
    return row;
  }

  /** By id in any project: internal paths only (agents, reconciliation, rows just read). */
  async getUnscoped(id: string): Promise<T | null> {
    return (await this.rows(eq(this.t.id, id), [], 1))[0] ?? null;
  }

  async requireUnscoped(id: string): Promise<T> {
    const row = await this.getUnscoped(id);
    if (!row) throw this.missing(id);
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
