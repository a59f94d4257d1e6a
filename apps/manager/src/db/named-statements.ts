import type pg from 'pg';

/**
 * Statements this process runs again and again are sent as named (prepared) statements, so that
 * PostgreSQL parses and plans each once per connection instead of at every run: a create's
 * fourteen statements cost the server 3.7 ms of CPU sent unnamed and 2.2 ms named (measured on a
 * 2-core host, docs/performance.md). The query builder renders the same text for the same query
 * shape, so the texts repeat; a text is named from its third run, so one-off statements (start-up,
 * migrations, administrative reads) stay unnamed.
 *
 * Left unnamed: statements without parameters (they go by the simple protocol, which also carries
 * several statements in one text), texts with a bare `*` (a `SELECT *` or `RETURNING *` prepared
 * before another replica's migration adds a column would fail with "cached plan must not change
 * result type"), and statements with many parameters (their texts vary with a list's length).
 */
export class StatementNames {
  private readonly names = new Map<string, string>();
  private readonly runs = new Map<string, number>();
  private readonly refused = new Set<string>();
  private seq = 0;

  constructor(private readonly limits = { after: 3, named: 500, counted: 5000, params: 64 }) {}

  /** The name to send `text` under, or undefined to send it unnamed this time. */
  nameFor(text: string, params: number): string | undefined {
    const known = this.names.get(text);
    if (known) return known;
    if (params === 0 || params > this.limits.params || this.names.size >= this.limits.named) return undefined;
    if (this.refused.has(text) || BARE_STAR.test(text)) return undefined;
    const n = (this.runs.get(text) ?? 0) + 1;
    if (n < this.limits.after) {
      // Counting is bounded: when full, counting starts over (a hot text soon counts up again).
      if (this.runs.size >= this.limits.counted) this.runs.clear();
      this.runs.set(text, n);
      return undefined;
    }
    this.runs.delete(text);
    const name = `hearth_${++this.seq}`;
    this.names.set(text, name);
    return name;
  }

  /**
   * A named run failed. When the server's cached plan no longer fits (a column's type changed
   * under it), the text is never named again: this run fails, later runs go unnamed and are
   * planned afresh.
   */
  failed(text: string, err: unknown): void {
    const e = err as { code?: string; message?: string } | null;
    if (e?.code === '0A000' && /cached plan must not change result type/.test(e.message ?? '')) {
      this.names.delete(text);
      this.refused.add(text);
    }
  }

  /** How many texts are named (for tests and diagnostics). */
  get size(): number {
    return this.names.size;
  }
}

/** `*` as a column list (`SELECT *`, `t.*`, `RETURNING *`), not `count(*)`; a product written `a * b` also matches, and only stays unnamed. */
const BARE_STAR = /(^|[\s,.])\*(\s|,|;|$)/;

type Callback = (err: Error | null, res?: unknown) => void;
type QueryFn = (config: unknown, values?: unknown, callback?: unknown) => unknown;

/** Every connection the pool opens names its repeated statements (see StatementNames). */
export function nameStatements(pool: pg.Pool, names = new StatementNames()): StatementNames {
  pool.on('connect', (client) => {
    const c = client as unknown as { query: QueryFn };
    const query = c.query.bind(client) as QueryFn;
    c.query = (config, values, callback) => {
      const base =
        typeof config === 'string'
          ? { text: config }
          : (config as { text?: unknown; name?: unknown; values?: unknown; submit?: unknown } | null);
      if (!base || typeof base.submit === 'function' || base.name || typeof base.text !== 'string') {
        return query(config, values, callback);
      }
      const text = base.text;
      const params: unknown = Array.isArray(values) ? values : base.values;
      const name = Array.isArray(params) ? names.nameFor(text, params.length) : undefined;
      if (!name) return query(config, values, callback);
      const named = { ...base, name, values: params };
      const cb = (typeof values === 'function' ? values : callback) as Callback | undefined;
      if (cb) {
        return query(named, (err: Error | null, res?: unknown) => {
          if (err) names.failed(text, err);
          cb(err, res);
        });
      }
      return (query(named) as Promise<unknown>).catch((err: unknown) => {
        names.failed(text, err);
        throw err;
      });
    };
  });
  return names;
}
