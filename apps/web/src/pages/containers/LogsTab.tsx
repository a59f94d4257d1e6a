import { useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { Container } from '@hearth/contract';
import { inputClass } from '../../components/Field.tsx';
import { Button, ErrorState } from '../../components/ui.tsx';
import { filterLines, lineTime, MAX_LINES, splitMatches, type LogEntry } from './logs.ts';
import { useContainerLogs, type LogStatus } from './use-logs.ts';

/** What the viewer is doing, in words. */
function statusText(status: LogStatus, follow: boolean): string {
  if (status === 'loading') return 'Loading…';
  if (status === 'following') return 'Following: new lines appear as the app writes them';
  if (status === 'failed') return 'Reading the log failed';
  return follow ? 'The stream ended (the app stopped, or the connection closed)' : 'Not following';
}

function Line({ l, search, timestamps }: { l: LogEntry; search: string; timestamps: boolean }) {
  return (
    <div data-stream={l.stream} className={l.stream === 'stderr' ? 'text-red-300' : undefined}>
      {timestamps && (
        <time dateTime={l.t} className="mr-2 text-slate-400 select-none">
          {lineTime(l.t)}
        </time>
      )}
      {splitMatches(l.line, search).map((p, i) =>
        p.match ? (
          <mark key={i} className="bg-amber-300 text-slate-950">
            {p.text}
          </mark>
        ) : (
          <span key={i}>{p.text}</span>
        ),
      )}
    </div>
  );
}

function Toggle({
  label,
  checked,
  onChange,
}: {
  label: string;
  checked: boolean;
  onChange(v: boolean): void;
}) {
  return (
    <label className="flex items-center gap-1.5 text-sm">
      <input type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} />
      {label}
    </label>
  );
}

/** The app's stdout and stderr: followed live, searched and filtered in the page. */
export default function LogsTab({ c }: { c: Container }) {
  const [follow, setFollow] = useState(true);
  const [attempt, setAttempt] = useState(0);
  const [search, setSearch] = useState('');
  const [stdout, setStdout] = useState(true);
  const [stderr, setStderr] = useState(true);
  const [timestamps, setTimestamps] = useState(true);
  // Following reconnects when the app starts again (the old stream ended with it).
  const { lines, status, error } = useContainerLogs(c.id, follow, `${attempt}:${follow ? c.startedAt : ''}`);
  const shown = useMemo(
    () => filterLines(lines, { search, stdout, stderr }),
    [lines, search, stdout, stderr],
  );
  const box = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  useLayoutEffect(() => {
    if (follow && atBottom.current && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [shown, follow]);
  return (
    <div className="space-y-2">
      <div className="flex flex-wrap items-center gap-3">
        <Toggle label="Follow" checked={follow} onChange={setFollow} />
        <label className="text-sm">
          <span className="sr-only">Search the log</span>
          <input
            type="search"
            placeholder="Search the log"
            className={`${inputClass} w-64`}
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
        </label>
        <Toggle label="stdout" checked={stdout} onChange={setStdout} />
        <Toggle label="stderr" checked={stderr} onChange={setStderr} />
        <Toggle label="Timestamps" checked={timestamps} onChange={setTimestamps} />
        {(status === 'ended' || status === 'failed') && (
          <Button onClick={() => setAttempt((a) => a + 1)}>{follow ? 'Reconnect' : 'Refresh'}</Button>
        )}
      </div>
      <p role="status" data-testid="logs-status" className="text-sm text-slate-600 dark:text-slate-300">
        {statusText(status, follow)} ·{' '}
        {shown.length === lines.length ? `${lines.length} lines` : `${shown.length} of ${lines.length} lines`}
        {lines.length >= MAX_LINES && ` (the last ${MAX_LINES} kept)`}
      </p>
      {status === 'failed' ? (
        <ErrorState error={error} retry={() => setAttempt((a) => a + 1)} />
      ) : (
        <div
          ref={box}
          role="log"
          aria-label="Container log"
          tabIndex={0}
          onScroll={(e) => {
            const el = e.currentTarget;
            atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
          }}
          className="h-[60vh] min-h-64 overflow-auto rounded-md bg-slate-950 p-3 font-mono text-xs whitespace-pre-wrap text-slate-100"
        >
          {shown.length === 0 ? (
            <p className="text-slate-400">{lines.length ? 'No line matches.' : 'No output yet.'}</p>
          ) : (
            shown.map((l) => <Line key={l.n} l={l} search={search} timestamps={timestamps} />)
          )}
        </div>
      )}
    </div>
  );
}
