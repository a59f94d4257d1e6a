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
  type Placeholder,
  type SQL,
} from 'drizzle-orm';
import type { PgColumn, PgSelect, PgTable, SelectedFields } from 'drizzle-orm/pg-core';
import type { Orm } from '../db/db.ts';
import { decodeCursor, pageResult } from './page.ts';

/** One store's base read (with its computed columns): filter, order and optional limit. */
export interface Rows<T> {
  (where: SQL | undefined, order: SQL[], limit?: number): Promise<T[]>;
  /**
   * The same read as a prepared statement whose `sql.placeholder`s are filled at each run: the
   * query is built and rendered once, and PostgreSQL parses and plans it once per connection.
   */
  prepare(name: string, where: SQL, order: SQL[], limit?: number): Prepared<T>;
}

export interface Prepared<T> {
  execute(values: Record<string, unknown>): Promise<T[]>;
}

// Prepared statement names are per connection and must not repeat with another text: one
// sequence for every lookup this process prepares.
let preparedSeq = 0;

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

/** A store's read from the query it builds: run as built each time, or prepared once. */
export function selectRows<T>(
  build: (where: SQL | undefined, order: SQL[], limit?: number) => PgSelect,
): Rows<T> {
  const rows = (where: SQL | undefined, order: SQL[], limit?: number) =>
    build(where, order, limit) as unknown as Promise<T[]>;
  rows.prepare = (name: string, where: SQL, order: SQL[], limit?: number) =>
    build(where, order, limit).prepare(`${name}_${++preparedSeq}`) as unknown as Prepared<T>;
  return rows;
}

/** The base read of one table: its columns, or `fields` when some are computed. */
export function tableRows<T>(
  orm: Orm,
  table: PgTable,
  fields: SelectedFields = getTableColumns(table),
): Rows<T> {
  return selectRows((where, order, limit) =>
    upTo(
      orm
        .select(fields)
        .from(table)
        .where(where)
        .orderBy(...order)
        .$dynamic(),
      limit,
    ),
  );
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
  // Built on first use: by id or name (scoped, or for a table outside projects), and by id.
  private byKey?: Prepared<T>;
  private byKeyAnywhere?: Prepared<T>;
  private byId?: Prepared<T>;

  constructor(
    private readonly t: Named,
    private readonly rows: Rows<T>,
    private readonly missing: (idOrName: string) => HearthError,
    private readonly shared = false,
  ) {}

  /** The rows a user acting in `project` may see; no condition for tables outside projects. */
  inProject(project: string | Placeholder): SQL | undefined {
    const col = this.t.project;
    if (!col) return undefined;
    return this.shared ? or(eq(col, project), isNull(col)) : eq(col, project);
  }

  /** By id or name inside `project` (plus global rows for shared tables); undefined: a table outside projects. */
  async get(idOrName: string, project?: string): Promise<T | null> {
    if (project === undefined && this.t.project)
      throw new Error('a lookup in a table of projects needs a project; use getUnscoped');
    const rows =
      project === undefined
        ? await (this.byKeyAnywhere ??= this.prepareByKey(false)).execute({ key: idOrName })
        : await (this.byKey ??= this.prepareByKey(true)).execute({ key: idOrName, project });
    return rows[0] ?? null;
  }

  /** The id-or-name lookup: the row with that id first, then (shared tables) the project's over a global one. */
  private prepareByKey(scoped: boolean): Prepared<T> {
    const key = sql.placeholder('key');
    const scope = scoped ? this.inProject(sql.placeholder('project')) : undefined;
    const order = [desc(sql`${this.t.id} = ${key}`)];
    if (this.shared && this.t.project) order.push(asc(sql`${this.t.project} IS NULL`));
    const where = and(or(eq(this.t.id, key), eq(this.t.name, key)), scope)!;
    return this.rows.prepare('find_key', where, order, 1);
  }

  async require(idOrName: string, project?: string): Promise<T> {
    const row = await this.get(idOrName, project);
    if (!row) throw this.missing(idOrName);
    return row;
  }

  /** By id in any project: internal paths only (agents, reconciliation, rows just read). */
  async getUnscoped(id: string): Promise<T | null> {
    this.byId ??= this.rows.prepare('find_id', eq(this.t.id, sql.placeholder('id')), [], 1);
    return (await this.byId.execute({ id }))[0] ?? null;
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
