import { useEffect, useState } from 'react';
import { useSession } from '../../api/session.tsx';
import { NdjsonSplitter } from '../../api/ndjson.ts';
import { appendRecords, logsQuery, type LogEntry } from './logs.ts';

export type LogStatus = 'loading' | 'following' | 'ended' | 'failed';

interface LogState {
  /** The connection these lines came from; another one starts empty. */
  conn: string;
  lines: LogEntry[];
  status: LogStatus;
  error: unknown;
}

/**
 * The container's log as NDJSON (`GET …/logs?format=ndjson`) through the SDK's `raw()`, read with
 * a stream reader as it arrives; with `follow`, the request stays open and new lines are added as
 * the app writes them. Each (re)connection starts from the last lines (`tail`); `key` changing
 * (a new start of the app, a reconnect) opens it again. Leaving the tab aborts the request.
 */
export function useContainerLogs(id: string, follow: boolean, key: string) {
  const { client } = useSession();
  const conn = `${id}|${follow}|${key}`;
  const [state, setState] = useState<LogState>({ conn, lines: [], status: 'loading', error: null });
  useEffect(() => {
    const abort = new AbortController();
    const update = (f: (s: LogState) => Partial<LogState>) =>
      setState((s) => {
        const base = s.conn === conn ? s : { conn, lines: [], status: 'loading' as const, error: null };
        return { ...base, ...f(base) };
      });
    void (async () => {
      const res = await client.raw(
        'containerLogs',
        { params: { id }, query: logsQuery(follow) },
        { signal: abort.signal },
      );
      update(() => ({ status: follow ? 'following' : 'loading' }));
      const reader = res.body!.getReader();
      const split = new NdjsonSplitter();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const records = split.push(value);
        if (records.length) update((s) => ({ lines: appendRecords(s.lines, records) }));
      }
      const rest = split.end();
      update((s) => ({ lines: appendRecords(s.lines, rest), status: 'ended' }));
    })().catch((e: unknown) => {
      if (!abort.signal.aborted) update(() => ({ status: 'failed', error: e }));
    });
    return () => abort.abort();
  }, [client, id, follow, conn]);
  return state.conn === conn ? state : { conn, lines: [], status: 'loading' as const, error: null };
}
