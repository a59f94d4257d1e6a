import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useSession } from '../api/session.tsx';
import { imageKeys } from '../api/queries.ts';
import { followImport, progressPercent, type ImportProgress } from '../api/ndjson.ts';
import { formatBytes } from '../lib/format.ts';

/** A labelled progress bar; without a value it is indeterminate (a pulse). */
export function Progress({ label, value }: { label: string; value: number | null }) {
  return (
    <div className="text-sm" data-testid="progress">
      <div className="flex justify-between">
        <span>{label}</span>
        {value !== null && <span>{value}%</span>}
      </div>
      <div
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        {...(value === null ? {} : { 'aria-valuenow': value })}
        className="mt-1 h-2 overflow-hidden rounded bg-slate-200 dark:bg-slate-700"
      >
        <div
          className={`h-2 rounded bg-blue-600 ${value === null ? 'w-1/3 animate-pulse' : ''}`}
          style={value === null ? undefined : { width: `${value}%` }}
        />
      </div>
    </div>
  );
}

const PHASE_LABEL: Record<ImportProgress['phase'], string> = {
  resolve: 'Resolving',
  pull: 'Pulling',
  unpack: 'Unpacking',
  build: 'Building the filesystem',
  download: 'Downloading',
  verify: 'Verifying',
  store: 'Storing',
};

/** Import an OCI reference or URL through the SDK's raw(), reading the NDJSON progress as it comes. */
export function useImport() {
  const { client } = useSession();
  const qc = useQueryClient();
  const [progress, setProgress] = useState<ImportProgress | null>(null);
  const run = useMutation({
    mutationFn: async (body: { ref: string; name?: string }) => {
      setProgress(null);
      const res = await client.raw('importImage', { body: { ...body, stream: true } });
      return followImport(res.body!, setProgress);
    },
    onSettled: () => qc.invalidateQueries({ queryKey: imageKeys.all }),
  });
  return { run, progress };
}

export function ImportProgressView({ progress }: { progress: ImportProgress | null }) {
  if (!progress) return <Progress label="Starting the import" value={null} />;
  const pct = progressPercent(progress);
  const bytes =
    progress.bytes !== undefined
      ? ` — ${formatBytes(progress.bytes)}${progress.totalBytes ? ` of ${formatBytes(progress.totalBytes)}` : ''}`
      : '';
  const phase = PHASE_LABEL[progress.phase];
  // The manager's message often just names the phase ("downloading"); say it once.
  const said = phase.toLowerCase().startsWith(progress.message.toLowerCase()) ? '' : `: ${progress.message}`;
  return <Progress label={`${phase}${said}${bytes}`} value={pct} />;
}
