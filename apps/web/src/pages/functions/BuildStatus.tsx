import type { FunctionVersion } from '@hearth/contract';
import { Progress } from '../../components/Progress.tsx';
import { formatAgo } from '../../lib/format.ts';
import { useNow } from '../containers/use-now.ts';
import { errorLine } from './code.ts';

/**
 * The newest version's build: a progress line while it builds (a VM boot, the handler loaded, a
 * snapshot: minutes under emulation), the runtime's message and line when it failed (live stays
 * where it was), or that it is ready.
 */
export function BuildStatus({
  newest,
  live,
  file,
}: {
  newest: FunctionVersion | undefined;
  live: number | undefined;
  file: string;
}) {
  const now = useNow(newest?.state === 'building');
  if (!newest) return null;
  if (newest.state === 'building') {
    const s = Math.max(0, Math.round((now - Date.parse(newest.createdAt)) / 1000));
    return (
      <div data-testid="build-status" data-state="building">
        <Progress
          label={`Building v${newest.version}: booting a ${newest.runtime} VM, loading ${newest.handler}, snapshotting it (${s} s)`}
          value={null}
        />
      </div>
    );
  }
  if (newest.state === 'failed') {
    const line = errorLine(newest.error ?? '', file);
    return (
      <div
        role="alert"
        data-testid="build-status"
        data-state="failed"
        className="rounded-md border border-red-300 bg-red-50 p-3 text-sm text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-100"
      >
        <p className="font-semibold">
          v{newest.version} failed to build
          {line !== null && (
            <span data-testid="build-error-line">
              {' '}
              at line {line} of {file}
            </span>
          )}
          . {live === undefined ? 'Nothing is live yet.' : `Live stays on v${live}.`}
        </p>
        <pre className="mt-2 max-h-64 overflow-auto font-mono text-xs whitespace-pre-wrap">
          {newest.error}
        </pre>
      </div>
    );
  }
  return (
    <p data-testid="build-status" data-state="ready" className="text-sm text-green-800 dark:text-green-200">
      v{newest.version} built
      {newest.buildMs !== null ? ` in ${(newest.buildMs / 1000).toFixed(1)} s` : ''}
      {live === newest.version ? ' and live' : ''} (deployed {formatAgo(newest.createdAt, now)}).
    </p>
  );
}
