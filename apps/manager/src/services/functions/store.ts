import { EventEmitter } from 'node:events';
import { and, desc, eq, sql } from 'drizzle-orm';
import type { FunctionConfig } from '@hearth/contract';
import type { Db } from '../../db/index.ts';
import {
  functionAliases,
  functionLogs,
  functions,
  functionVersions,
  type FunctionRowConfig,
} from '../../db/schema-functions.ts';

export type FunctionRow = typeof functions.$inferSelect;
export type VersionRow = typeof functionVersions.$inferSelect;
export type LogRow = typeof functionLogs.$inferSelect;

/** The function tables (migration 38). */
export class FunctionStore {
  /** `log` (function id) after an invocation's row was added or finished: a follow reads it then. */
  readonly logEvents = new EventEmitter().setMaxListeners(0);

  constructor(readonly db: Db) {}

  async insert(r: { id: string; name: string; project: string; config: FunctionRowConfig }) {
    const rows = await this.db.orm.insert(functions).values(r).returning();
    return rows[0]!;
  }

  async get(project: string, name: string): Promise<FunctionRow | null> {
    const rows = await this.db.orm
      .select()
      .from(functions)
      .where(and(eq(functions.project, project), eq(functions.name, name)));
    return rows[0] ?? null;
  }

  async byId(id: string): Promise<FunctionRow | null> {
    const rows = await this.db.orm.select().from(functions).where(eq(functions.id, id));
    return rows[0] ?? null;
  }

  list(project: string): Promise<FunctionRow[]> {
    return this.db.orm.select().from(functions).where(eq(functions.project, project)).orderBy(functions.name);
  }

  all(): Promise<FunctionRow[]> {
    return this.db.orm.select().from(functions);
  }

  async setConfig(id: string, config: FunctionRowConfig): Promise<void> {
    await this.db.orm
      .update(functions)
      .set({ config, updated_at: sql`now()` })
      .where(eq(functions.id, id));
  }

  async delete(id: string): Promise<void> {
    await this.db.orm.delete(functionLogs).where(eq(functionLogs.function_id, id));
    await this.db.orm.delete(functionAliases).where(eq(functionAliases.function_id, id));
    await this.db.orm.delete(functionVersions).where(eq(functionVersions.function_id, id));
    await this.db.orm.delete(functions).where(eq(functions.id, id));
  }

  /** The next version number, recorded as building (numbers are never reused, failed ones included). */
  async newVersion(
    fnId: string,
    v: { runtime: string; handler: string; files: Record<string, string>; config: FunctionConfig },
  ): Promise<VersionRow> {
    const rows = await this.db.query<{ n: number }>(
      'SELECT COALESCE(MAX(version), 0) + 1 AS n FROM function_versions WHERE function_id = $1',
      [fnId],
    );
    const version = Number(rows[0]!.n);
    const out = await this.db.orm
      .insert(functionVersions)
      .values({ function_id: fnId, version, state: 'building', ...v })
      .returning();
    return out[0]!;
  }

  async finishVersion(
    fnId: string,
    version: number,
    r: { state: 'ready' | 'failed'; snapshot_id?: string | null; error?: string | null; build_ms: number },
  ): Promise<void> {
    await this.db.orm
      .update(functionVersions)
      .set(r)
      .where(and(eq(functionVersions.function_id, fnId), eq(functionVersions.version, version)));
  }

  versions(fnId: string): Promise<VersionRow[]> {
    return this.db.orm
      .select()
      .from(functionVersions)
      .where(eq(functionVersions.function_id, fnId))
      .orderBy(desc(functionVersions.version));
  }

  async version(fnId: string, version: number): Promise<VersionRow | null> {
    const rows = await this.db.orm
      .select()
      .from(functionVersions)
      .where(and(eq(functionVersions.function_id, fnId), eq(functionVersions.version, version)));
    return rows[0] ?? null;
  }

  async aliases(fnId: string): Promise<Record<string, number>> {
    const rows = await this.db.orm
      .select()
      .from(functionAliases)
      .where(eq(functionAliases.function_id, fnId));
    return Object.fromEntries(rows.map((r) => [r.alias, r.version]));
  }

  async setAlias(fnId: string, alias: string, version: number): Promise<void> {
    await this.db.orm
      .insert(functionAliases)
      .values({ function_id: fnId, alias, version })
      .onConflictDoUpdate({ target: [functionAliases.function_id, functionAliases.alias], set: { version } });
  }

  async addLog(r: Omit<LogRow, 'seq' | 'at' | 'result'> & { result?: unknown }): Promise<void> {
    await this.db.orm.insert(functionLogs).values(r);
    this.logEvents.emit('log', r.function_id);
  }

  /** An asynchronous invocation's end: its row (inserted `pending`) takes the outcome. */
  async finishLog(
    fnId: string,
    requestId: string,
    r: Pick<LogRow, 'status' | 'duration_ms' | 'cold' | 'logs' | 'result' | 'version'>,
  ): Promise<void> {
    await this.db.orm
      .update(functionLogs)
      .set(r)
      .where(and(eq(functionLogs.function_id, fnId), eq(functionLogs.request_id, requestId)));
    this.logEvents.emit('log', fnId);
  }

  async logByRequest(fnId: string, requestId: string): Promise<LogRow | null> {
    const rows = await this.db.orm
      .select()
      .from(functionLogs)
      .where(and(eq(functionLogs.function_id, fnId), eq(functionLogs.request_id, requestId)));
    return rows[0] ?? null;
  }

  /**
   * After a manager restart nothing runs what was building or pending: those records say so
   * instead of waiting forever.
   */
  async failInterrupted(why: string): Promise<{ versions: number; invocations: number }> {
    const v = await this.db.query<{ n: number }>(
      `UPDATE function_versions SET state = 'failed', error = $1 WHERE state = 'building' RETURNING 1 AS n`,
      [why],
    );
    const i = await this.db.query<{ n: number }>(
      `UPDATE function_logs SET status = 'failed', result = $1::jsonb WHERE status = 'pending' RETURNING 1 AS n`,
      [JSON.stringify({ code: 'FUNCTION_INSTANCE_FAILED', message: why })],
    );
    return { versions: v.length, invocations: i.length };
  }
}
