import { HearthError, newId, type AuditRecord } from '@hearth/contract';
import { and, desc, eq, gte, lt, lte, or, type SQL } from 'drizzle-orm';
import type { Db } from '../db/index.ts';
import { audit } from '../db/schema.ts';
import { decodeCursor, pageResult } from './page.ts';

type AuditRow = typeof audit.$inferSelect;

/** One audit record as written: everything but its sequence number and time. */
export type NewAudit = Omit<AuditRecord, 'id' | 'seq' | 'at'>;

export interface AuditFilter {
  actor?: string | undefined;
  action?: string | undefined;
  target?: string | undefined;
  outcome?: AuditRecord['outcome'] | undefined;
  since?: string | undefined;
  until?: string | undefined;
  /** One project's records; undefined: every record (administrators with `all`). */
  project?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

function auditFromRow(r: AuditRow): AuditRecord {
  return {
    id: r.id,
    seq: r.seq,
    at: new Date(r.at).toISOString(),
    actor: { kind: r.actor_kind as AuditRecord['actor']['kind'], id: r.actor_id, name: r.actor_name },
    tokenId: r.token_id,
    source: r.source,
    action: r.action,
    method: r.method,
    path: r.path,
    target: r.target,
    project: r.project,
    outcome: r.outcome,
    status: r.status,
    code: r.code,
    requestId: r.request_id,
  };
}

function time(text: string | undefined, field: string): Date | null {
  if (text === undefined) return null;
  const t = new Date(text);
  if (Number.isNaN(t.getTime())) {
    throw new HearthError('VALIDATION_FAILED', `Reading "${field}" failed: "${text}" is not a time.`, {
      fields: { [field]: ['an ISO 8601 time, like 2026-12-04T10:00:00Z'] },
    });
  }
  return t;
}

/**
 * What a request sent (a decoded path parameter, a user name tried) as PostgreSQL text can hold
 * it: a NUL character, which text refuses, is kept as the six characters `\u0000`.
 */
function text<T extends string | null>(v: T): T {
  return (v === null || !v.includes('\u0000') ? v : v.replaceAll('\u0000', '\\u0000')) as T;
}

/** The audit trail: append-only records, read newest first, swept past the retention. */
export class AuditStore {
  /** Told of the records each insert wrote (webhooks' `audit` events). */
  onInsert: ((records: NewAudit[]) => void) | null = null;

  constructor(private readonly db: Db) {}

  /** Records in the order given, in one statement. */
  async insert(records: NewAudit | NewAudit[]): Promise<void> {
    const all = Array.isArray(records) ? records : [records];
    if (!all.length) return;
    await this.db.orm.insert(audit).values(
      all.map((r) => ({
        id: newId('aud'),
        actor_kind: r.actor.kind,
        actor_id: text(r.actor.id),
        actor_name: text(r.actor.name),
        token_id: r.tokenId,
        source: text(r.source),
        action: r.action,
        method: text(r.method),
        path: text(r.path),
        target: text(r.target),
        project: text(r.project),
        outcome: r.outcome,
        status: r.status,
        code: r.code,
        request_id: r.requestId,
      })),
    );
    this.onInsert?.(all);
  }

  /** Newest first; the cursor is the last sequence number of the previous page. */
  async list(f: AuditFilter): Promise<{ items: AuditRecord[]; nextCursor: string | null }> {
    const after = decodeCursor(f.cursor);
    if (after !== null && !/^\d{1,15}$/.test(after)) {
      throw new HearthError(
        'VALIDATION_FAILED',
        'Reading the page cursor failed: it is not one this server issued.',
        {
          fields: { cursor: ['invalid cursor'] },
        },
      );
    }
    const since = time(f.since, 'since');
    const until = time(f.until, 'until');
    const where: (SQL | undefined)[] = [
      after !== null ? lt(audit.seq, Number(after)) : undefined,
      f.actor ? or(eq(audit.actor_name, f.actor), eq(audit.actor_id, f.actor)) : undefined,
      f.action ? eq(audit.action, f.action) : undefined,
      f.target ? eq(audit.target, f.target) : undefined,
      f.outcome ? eq(audit.outcome, f.outcome) : undefined,
      since ? gte(audit.at, since) : undefined,
      until ? lte(audit.at, until) : undefined,
      f.project !== undefined ? eq(audit.project, f.project) : undefined,
    ];
    const rows = await this.db.orm
      .select()
      .from(audit)
      .where(and(...where))
      .orderBy(desc(audit.seq))
      .limit(f.limit + 1);
    const page = pageResult(rows, f.limit, (r) => r.seq);
    return { items: page.items.map(auditFromRow), nextCursor: page.nextCursor };
  }

  /** Removes records older than `before`; returns how many went. */
  async sweep(before: Date): Promise<number> {
    const rows = await this.db.orm.delete(audit).where(lt(audit.at, before)).returning({ seq: audit.seq });
    return rows.length;
  }
}
