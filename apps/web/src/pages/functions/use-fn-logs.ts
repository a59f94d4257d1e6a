import { useEffect, useState } from 'react';
import type { FunctionLog } from '@hearth/contract';
import { LOGS_LIMIT } from '../../api/function-queries.ts';
import { readNdjson } from '../../api/ndjson.ts';
import { useSession } from '../../api/session.tsx';

export type FollowStatus = 'connecting' | 'following' | 'ended' | 'failed';

interface FollowState {
  /** The connection these entries came from; another one starts empty. */
  conn: string;
  items: FunctionLog[];
  status: FollowStatus;
  error: unknown;
}

/**
 * The function's log followed (`GET …/logs?follow=true`, NDJSON through the SDK's `raw()`): the
 * last invocations, then each one as it ends, newest first. A change of filter (or `key`)
 * reconnects; leaving the tab or turning it off aborts the request.
 */
export function useFollowedLogs(name: string, requestId: string, q: string, on: boolean, key: number) {
  const { client } = useSession();
  const conn = `${name}|${requestId}|${q}|${on}|${key}`;
  const empty: FollowState = { conn, items: [], status: 'connecting', error: null };
  const [state, setState] = useState<FollowState>(empty);
  useEffect(() => {
    if (!on) return;
    const abort = new AbortController();
    const update = (f: (s: FollowState) => Partial<FollowState>) =>
      setState((s) => {
        const base = s.conn === conn ? s : { conn, items: [], status: 'connecting' as const, error: null };
        return { ...base, ...f(base) };
      });
    void (async () => {
      const res = await client.raw(
        'functionLogs',
        {
          params: { name },
          query: { follow: 'true', limit: LOGS_LIMIT, requestId: requestId || undefined, q: q || undefined },
        },
        { signal: abort.signal },
      );
      update(() => ({ status: 'following' }));
      await readNdjson(res.body!, (r) =>
        update((s) => ({ items: [r as FunctionLog, ...s.items].slice(0, LOGS_LIMIT) })),
      );
      update(() => ({ status: 'ended' }));
    })().catch((e: unknown) => {
      if (!abort.signal.aborted) update(() => ({ status: 'failed', error: e }));
    });
    return () => abort.abort();
  }, [client, name, requestId, q, on, conn]);
  return state.conn === conn ? state : empty;
}

/** `value`, once it stopped changing for `ms` (a search typed key by key asks once). */
export function useSettled<T>(value: T, ms = 300): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return settled;
}
