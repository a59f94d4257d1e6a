import type { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { fromIterable } from '@hearth/contract/streams';
import { logOf, matches, type FunctionObserveStore, type LogFilter } from './observe-store.ts';

/**
 * Rows may also come from elsewhere than this process's store (nothing tells of them): they are
 * looked for this often even without an event.
 */
const RECHECK_MS = 5000;

/** Resolves on the function's next log event, the recheck time, or the client leaving. */
function nextChange(events: EventEmitter, fnId: string, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      events.off('log', onLog);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const onLog = (id: string) => {
      if (id === fnId) done();
    };
    const timer = setTimeout(done, RECHECK_MS);
    events.on('log', onLog);
    signal.addEventListener('abort', done);
  });
}

/**
 * A function's log as NDJSON FunctionLog lines: the last `limit` invocations that passed the
 * filter (oldest first), then each one as it ends, until `signal` aborts. A pending
 * (asynchronous) invocation shows once it ends, with what it printed.
 */
export function followLogs(
  obs: FunctionObserveStore,
  events: EventEmitter,
  fnId: string,
  limit: number,
  filter: LogFilter,
  signal: AbortSignal,
): Readable {
  async function* lines(): AsyncGenerator<Buffer> {
    const line = (r: Parameters<typeof logOf>[0]) => Buffer.from(JSON.stringify(logOf(r)) + '\n');
    // The mark is taken first: a row added while the first page is read is read again after,
    // and the seqs already sent are skipped then.
    let last = await obs.lastSeq(fnId);
    const pending = new Set(await obs.pendingSeqs(fnId));
    const sent = new Set<number>();
    const first = (await obs.logs(fnId, limit, filter)).reverse();
    for (const r of first) {
      if (r.status === 'pending' || r.seq > last) continue;
      sent.add(r.seq);
      yield line(r);
    }
    while (!signal.aborted) {
      const rows = await obs.since(fnId, last, [...pending]);
      for (const r of rows) {
        last = Math.max(last, r.seq);
        if (r.status === 'pending') {
          pending.add(r.seq);
          continue;
        }
        pending.delete(r.seq);
        if (sent.has(r.seq) || !matches(r, filter)) continue;
        sent.add(r.seq);
        yield line(r);
      }
      // Only the seqs a later read can bring again need remembering.
      for (const s of sent) if (s <= last && !pending.has(s)) sent.delete(s);
      await nextChange(events, fnId, signal);
    }
  }
  return fromIterable(lines());
}
