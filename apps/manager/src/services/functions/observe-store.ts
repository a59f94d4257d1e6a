import { and, desc, eq, gt, ilike, inArray, or, type SQL } from 'drizzle-orm';
import type { FunctionLog, FunctionMetricsPoint } from '@hearth/contract';
import type { Db } from '../../db/index.ts';
import { functionLogs } from '../../db/schema-functions.ts';
import type { LogRow } from './store.ts';

/** Which invocations a log read keeps: one request id, and/or output containing a text. */
export interface LogFilter {
  requestId?: string | undefined;
  q?: string | undefined;
}

/** The API's shape of a log row. */
export function logOf(r: LogRow): FunctionLog {
  return {
    seq: r.seq,
    requestId: r.request_id,
    version: r.version,
    status: r.status,
    durationMs: r.duration_ms,
    cold: r.cold,
    logs: r.logs,
    at: new Date(r.at).toISOString(),
  };
}

/** Whether a row passes the filter (the follow checks rows it read unfiltered). */
export function matches(r: LogRow, f: LogFilter): boolean {
  if (f.requestId && r.request_id !== f.requestId) return false;
  if (f.q) {
    const q = f.q.toLowerCase();
    return r.logs.toLowerCase().includes(q) || r.request_id.toLowerCase().includes(q);
  }
  return true;
}

// The figures, from the invocation log. Throttles are rows too: `throttled` for a refused
// synchronous call, `failed` with FUNCTION_THROTTLED for an asynchronous one refused later.
const FIGURES = `
  count(*) FILTER (WHERE status NOT IN ('pending', 'failed', 'throttled')) AS invocations,
  count(*) FILTER (WHERE status = 'error') AS errors,
  count(*) FILTER (WHERE status = 'timeout') AS timeouts,
  count(*) FILTER (WHERE status = 'throttled'
                      OR (status = 'failed' AND result->>'code' = 'FUNCTION_THROTTLED')) AS throttles,
  count(*) FILTER (WHERE cold) AS cold,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) FILTER (WHERE status IN ('ok', 'error')) AS p50,
  percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) FILTER (WHERE status IN ('ok', 'error')) AS p95,
  percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms) FILTER (WHERE status IN ('ok', 'error')) AS p99`;

type FigureRow = Record<string, string | number | null>;
const num = (x: unknown) => (x === null || x === undefined ? null : Number(x));
const figuresOf = (r: FigureRow) => ({
  invocations: Number(r.invocations),
  errors: Number(r.errors),
  throttles: Number(r.throttles),
  coldStarts: Number(r.cold),
  durationMs: { p50: num(r.p50), p95: num(r.p95), p99: num(r.p99) },
});

/** Reads of the invocation log: searched lists, the follow's increments, the metrics. */
export class FunctionObserveStore {
  constructor(private readonly db: Db) {}

  /** Newest first. */
  logs(fnId: string, limit: number, f: LogFilter): Promise<LogRow[]> {
    const conds: (SQL | undefined)[] = [eq(functionLogs.function_id, fnId)];
    if (f.requestId) conds.push(eq(functionLogs.request_id, f.requestId));
    if (f.q) {
      // The text is the caller's: its wildcards match themselves.
      const like = `%${f.q.replace(/[\\%_]/g, '\\$&')}%`;
      conds.push(or(ilike(functionLogs.logs, like), ilike(functionLogs.request_id, like)));
    }
    return this.db.orm
      .select()
      .from(functionLogs)
      .where(and(...conds))
      .orderBy(desc(functionLogs.seq))
      .limit(limit);
  }

  /** Rows after `seq` and the rows of `seqs` (pending ones seen earlier), unfiltered, oldest first. */
  async since(fnId: string, seq: number, seqs: number[]): Promise<LogRow[]> {
    const after = gt(functionLogs.seq, seq);
    const rows = await this.db.orm
      .select()
      .from(functionLogs)
      .where(
        and(
          eq(functionLogs.function_id, fnId),
          seqs.length ? or(after, inArray(functionLogs.seq, seqs)) : after,
        ),
      )
      .orderBy(functionLogs.seq);
    return rows;
  }

  /** The newest row's seq of the function (0 without any). */
  async lastSeq(fnId: string): Promise<number> {
    const rows = await this.db.query<{ n: string | number | null }>(
      'SELECT max(seq) AS n FROM function_logs WHERE function_id = $1',
      [fnId],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /** The pending (asynchronous, running) rows' seqs. */
  async pendingSeqs(fnId: string): Promise<number[]> {
    const rows = await this.db.query<{ seq: string | number }>(
      `SELECT seq FROM function_logs WHERE function_id = $1 AND status = 'pending'`,
      [fnId],
    );
    return rows.map((r) => Number(r.seq));
  }

  /** Counts and the handler's duration percentiles since `sinceS` ago, in total and per bucket. */
  async metrics(fnId: string, sinceS: number, bucketS: number) {
    const where = `FROM function_logs WHERE function_id = $1 AND at > now() - make_interval(secs => $2)`;
    const total = await this.db.query<FigureRow>(`SELECT ${FIGURES} ${where}`, [fnId, sinceS]);
    const buckets = await this.db.query<FigureRow>(
      `SELECT floor(extract(epoch FROM at) / $3)::bigint * $3 AS b, ${FIGURES} ${where} GROUP BY b ORDER BY b`,
      [fnId, sinceS, bucketS],
    );
    const t = total[0]!;
    const series: FunctionMetricsPoint[] = buckets.map((r) => ({
      t: new Date(Number(r.b) * 1000).toISOString(),
      ...figuresOf(r),
    }));
    return { ...figuresOf(t), timeouts: Number(t.timeouts), series };
  }
}
