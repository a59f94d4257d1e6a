/**
 * Errors of the PostgreSQL pool that mean the server could not be reached at all (down,
 * restarting, failing over, the connection cut), as opposed to an error of the query itself.
 * The pool marks what it throws; the API answers those DATABASE_UNAVAILABLE (503) instead of a
 * bug's 500.
 */
const FROM_POOL = Symbol('hearth.database');

/** Server states that refuse or end sessions: admin/crash shutdown, "cannot connect now". */
const SHUTDOWN = new Set(['57P01', '57P02', '57P03']);
const SQLSTATE = /^[0-9A-Z]{5}$/;

/** Marks an error thrown by the pool (returned as is, for `throw markFromPool(e)`). */
export function markFromPool(e: unknown): unknown {
  if (e && typeof e === 'object') (e as Record<symbol, boolean>)[FROM_POOL] = true;
  return e;
}

function connectionLevel(e: { code?: unknown }): boolean {
  const code = typeof e.code === 'string' ? e.code : '';
  // A query error carries its SQLSTATE; connection exceptions are class 08. Anything else from the
  // pool (no SQLSTATE: ECONNREFUSED, "Connection terminated unexpectedly", a connect timeout)
  // happened below the query.
  if (SQLSTATE.test(code)) return code.startsWith('08') || SHUTDOWN.has(code);
  return true;
}

/** True when `e` (or an error it wraps, as the ORM does) is the pool failing to reach the server. */
export function isDatabaseUnreachable(e: unknown): boolean {
  let cur: unknown = e;
  for (let depth = 0; cur && typeof cur === 'object' && depth < 6; depth++) {
    const err = cur as { code?: unknown; cause?: unknown } & Record<symbol, boolean>;
    if (err[FROM_POOL]) return connectionLevel(err);
    cur = err.cause;
  }
  return false;
}
