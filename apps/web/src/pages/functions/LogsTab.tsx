import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import type { FunctionInfo, FunctionLog } from '@hearth/contract';
import { fnQueries } from '../../api/function-queries.ts';
import { useSession } from '../../api/session.tsx';
import { inputClass } from '../../components/Field.tsx';
import { Button, Empty, ErrorState, Loading, QueryView } from '../../components/ui.tsx';
import { formatTime } from '../../lib/format.ts';
import { useFollowedLogs, useSettled, type FollowStatus } from './use-fn-logs.ts';

function Entries({ items }: { items: FunctionLog[] }) {
  return (
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
  );
}

const FOLLOW_TEXT: Record<FollowStatus, string> = {
  connecting: 'Connecting…',
  following: 'Following: new invocations appear as they end',
  ended: 'The stream ended (the connection closed)',
  failed: 'Following the log failed',
};

/** Each invocation's output with its request id, status, duration and start, newest first. */
export function LogsTab({ f }: { f: FunctionInfo }) {
  const { client } = useSession();
  const [requestId, setRequestId] = useState('');
  const [search, setSearch] = useState('');
  const [follow, setFollow] = useState(true);
  const [attempt, setAttempt] = useState(0);
  const id = useSettled(requestId.trim());
  const q = useSettled(search.trim());
  const listed = useQuery({ ...fnQueries.logs(client, f.name, id, q), enabled: !follow });
  const followed = useFollowedLogs(f.name, id, q, follow, attempt);
  const filtered = Boolean(id || q);
  const empty = <Empty title={filtered ? 'No invocation matches' : 'No invocations yet'} />;
  return (
    <>
      <div className="mb-3 flex flex-wrap items-center gap-3">
        <label className="text-sm">
          <span className="sr-only">Search the logs</span>
          <input
            type="search"
            placeholder="Search the output"
            className={`${inputClass} w-64`}
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
        </label>
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
        <label className="flex items-center gap-1.5 text-sm">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} />
          Follow
        </label>
        {follow ? (
          <Button onClick={() => setAttempt((a) => a + 1)}>Reconnect</Button>
        ) : (
          <Button onClick={() => void listed.refetch()} disabled={listed.isFetching}>
            {listed.isFetching ? 'Refreshing…' : 'Refresh'}
          </Button>
        )}
      </div>
      {follow ? (
        <>
          <p
            data-testid="fn-logs-status"
            data-status={followed.status}
            data-search={q}
            className="mb-2 text-xs text-slate-600 dark:text-slate-300"
          >
            {FOLLOW_TEXT[followed.status]}
          </p>
          {followed.status === 'failed' ? (
            <ErrorState error={followed.error} retry={() => setAttempt((a) => a + 1)} />
          ) : followed.status === 'connecting' ? (
            <Loading what="the invocation logs" />
          ) : followed.items.length ? (
            <Entries items={followed.items} />
          ) : (
            empty
          )}
        </>
      ) : (
        <QueryView query={listed} what="the invocation logs" empty={empty}>
          {(items) => <Entries items={items} />}
        </QueryView>
      )}
    </>
  );
}
