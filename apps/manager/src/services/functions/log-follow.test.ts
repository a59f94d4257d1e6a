import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FunctionLog } from '@hearth/contract';
import { openDb, type Db } from '../../db/index.ts';
import { followLogs } from './log-follow.ts';
import { FunctionObserveStore } from './observe-store.ts';
import { FunctionStore } from './store.ts';

const row = (requestId: string, status: string, logs: string, fnId = 'fn1') => ({
  function_id: fnId,
  request_id: requestId,
  version: 1,
  status,
  duration_ms: 3,
  cold: false,
  logs,
});

describe('the function log: search, follow and figures', () => {
  let db: Db;
  let store: FunctionStore;
  let obs: FunctionObserveStore;
  beforeAll(async () => {
    db = await openDb({ pgliteDir: null });
    store = new FunctionStore(db);
    obs = new FunctionObserveStore(db);
  });
  afterAll(async () => {
    await db.close();
  });

  it('searches the output case-insensitively, with wildcards taken literally', async () => {
    await store.addLog(row('r-a', 'ok', 'Hello 50% done\n'));
    await store.addLog(row('r-b', 'ok', 'other_thing\n'));
    await store.addLog(row('r-x', 'ok', 'hello from another function\n', 'fn2'));
    expect((await obs.logs('fn1', 10, { q: 'hello' })).map((r) => r.request_id)).toEqual(['r-a']);
    expect((await obs.logs('fn1', 10, { q: '50%' })).map((r) => r.request_id)).toEqual(['r-a']);
    expect(await obs.logs('fn1', 10, { q: '%' })).toHaveLength(1);
    expect(await obs.logs('fn1', 10, { q: 'other_' })).toHaveLength(1);
    expect(await obs.logs('fn1', 10, { q: 'othe_' })).toHaveLength(0);
    expect((await obs.logs('fn1', 10, { requestId: 'r-b' })).map((r) => r.logs)).toEqual(['other_thing\n']);
  });

  it('follows: the last ones first, then each invocation as it ends (a pending one once finished)', async () => {
    const left = new AbortController();
    const out = followLogs(obs, store.logEvents, 'fn1', 1, {}, left.signal);
    const lines = createInterface({ input: out })[Symbol.asyncIterator]();
    const next = async () => JSON.parse((await lines.next()).value as string) as FunctionLog;
    // The limit is 1: only the newest existing one.
    expect((await next()).requestId).toBe('r-b');
    await store.addLog({ ...row('r-async', 'pending', ''), duration_ms: 0 });
    await store.addLog(row('r-c', 'throttled', ''));
    await store.addLog(row('r-other', 'ok', 'not mine', 'fn2'));
    expect(await next()).toMatchObject({ requestId: 'r-c', status: 'throttled' });
    await store.finishLog('fn1', 'r-async', {
      status: 'error',
      duration_ms: 7,
      cold: true,
      logs: 'async printed\n',
      result: null,
      version: 1,
    });
    expect(await next()).toMatchObject({ requestId: 'r-async', status: 'error', logs: 'async printed\n' });
    left.abort();
    expect((await lines.next()).done).toBe(true);
  });

  it('follows with a filter: an invocation shows only when its output matches', async () => {
    const left = new AbortController();
    const out = followLogs(obs, store.logEvents, 'fn1', 10, { q: 'needle' }, left.signal);
    const lines = createInterface({ input: out })[Symbol.asyncIterator]();
    await store.addLog(row('r-d', 'ok', 'hay\n'));
    await store.addLog(row('r-e', 'ok', 'a NEEDLE\n'));
    expect(JSON.parse((await lines.next()).value as string)).toMatchObject({ requestId: 'r-e' });
    left.abort();
  });

  it('counts throttles, a refused asynchronous one included, apart from invocations, per bucket too', async () => {
    await store.addLog({ ...row('r-f', 'pending', ''), duration_ms: 0 });
    await store.finishLog('fn1', 'r-f', {
      status: 'failed',
      duration_ms: 0,
      cold: false,
      logs: '',
      result: { code: 'FUNCTION_THROTTLED', message: 'refused' },
      version: 1,
    });
    const m = await obs.metrics('fn1', 3600, 60);
    // ok: r-a, r-b, r-d, r-e; error: r-async; throttled: r-c, r-f.
    expect(m).toMatchObject({ invocations: 5, errors: 1, throttles: 2, coldStarts: 1, timeouts: 0 });
    expect(m.series.reduce((n, b) => n + b.invocations, 0)).toBe(5);
    expect(m.series.reduce((n, b) => n + b.throttles, 0)).toBe(2);
    expect(Date.parse(m.series[0]!.t) % 60_000).toBe(0);
  });
});
