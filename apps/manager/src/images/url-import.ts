import { HearthError } from '@hearth/contract';
import { fromWeb } from '@hearth/contract/streams';
import type { ContentStore, Written } from './content-store.ts';
import type { Progress } from './image-service.ts';

/** Streams an http(s) URL into the content store, reporting bytes as they arrive. */
export async function downloadUrl(
  url: string,
  files: ContentStore,
  opts: { what: string; limit: number; progress: Progress },
): Promise<Written> {
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(30 * 60_000) });
  } catch (e) {
    const cause = (e as { cause?: Error }).cause?.message ?? (e as Error).message;
    throw new HearthError('IMAGE_SOURCE_UNREACHABLE', `${opts.what} failed: ${cause}.`);
  }
  if (res.status === 404 || res.status === 410) {
    throw new HearthError(
      'IMAGE_SOURCE_NOT_FOUND',
      `${opts.what} failed: the server answered ${res.status}.`,
    );
  }
  if (!res.ok || !res.body) {
    throw new HearthError('IMAGE_IMPORT_FAILED', `${opts.what} failed: the server answered ${res.status}.`);
  }
  const total = Number(res.headers.get('content-length')) || undefined;
  let last = 0;
  return files.write(fromWeb(res.body), {
    what: opts.what,
    limit: opts.limit,
    onBytes: (n) => {
      // One event per 8 MiB is plenty for a progress bar and cheap for NDJSON.
      if (n - last < 8 * 2 ** 20) return;
      last = n;
      opts.progress({
        type: 'progress',
        phase: 'download',
        message: 'downloading',
        bytes: n,
        ...(total ? { totalBytes: total } : {}),
      });
    },
  });
}
