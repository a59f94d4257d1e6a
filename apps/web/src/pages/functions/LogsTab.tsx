import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import type { FunctionInfo } from '@hearth/contract';
import { fnQueries } from '../../api/function-queries.ts';
import { useSession } from '../../api/session.tsx';
import { inputClass } from '../../components/Field.tsx';
import { Button, Empty, QueryView } from '../../components/ui.tsx';
import { formatTime } from '../../lib/format.ts';

/** Each invocation's output with its request id, status, duration and start, newest first. */
export function LogsTab({ f }: { f: FunctionInfo }) {
  const { client } = useSession();
  const [requestId, setRequestId] = useState('');
  const logs = useQuery(fnQueries.logs(client, f.name, requestId.trim()));
  return (
    <>
      <div className="mb-3 flex flex-wrap items-center gap-3">
        <label className="text-sm">
          <span className="sr-only">Request id</span>
          <input
            type="search"
            placeholder="Filter by request id"
            className={`${inputClass} w-80 font-mono`}
            value={requestId}
            onChange={(e) => setRequestId(e.target.value)}
          />
        </label>
        <Button onClick={() => void logs.refetch()} disabled={logs.isFetching}>
          {logs.isFetching ? 'Refreshing…' : 'Refresh'}
        </Button>
      </div>
      <QueryView
        query={logs}
        what="the invocation logs"
        empty={<Empty title={requestId ? 'No invocation with that request id' : 'No invocations yet'} />}
      >
        {(items) => (
          <ol aria-label="Invocations" className="space-y-2">
            {items.map((l) => (
              <li
                key={l.seq}
                data-request-id={l.requestId}
                className="rounded-md border border-slate-200 p-2 text-sm dark:border-slate-800"
              >
                <div className="flex flex-wrap gap-x-4 gap-y-1 text-xs text-slate-600 dark:text-slate-300">
                  <span>{formatTime(l.at)}</span>
                  <code>{l.requestId}</code>
                  <span>v{l.version}</span>
                  <span className={l.status === 'ok' ? '' : 'font-semibold text-red-700 dark:text-red-300'}>
                    {l.status}
                  </span>
                  <span>{l.durationMs} ms</span>
                  <span>{l.cold ? 'cold' : 'warm'}</span>
                </div>
                <pre className="mt-1 max-h-48 overflow-auto font-mono text-xs whitespace-pre-wrap">
                  {l.logs || '(nothing printed)'}
                </pre>
              </li>
            ))}
          </ol>
        )}
      </QueryView>
    </>
  );
}
