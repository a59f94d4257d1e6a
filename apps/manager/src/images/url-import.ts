import { HearthError } from '@hearth/contract';
import { fromWeb } from '@hearth/contract/streams';
import type { ContentStore, Written } from './content-store.ts';
import type { Progress } from './image-service.ts';

/** How long a download may go without progress (connect, headers, or the next body bytes). */
export const DEFAULT_DOWNLOAD_IDLE_MS = 30_000;

/**
 * Checks an import URL before anything is sent: the caller's mistakes (not a URL, another
 * scheme, credentials in it, an impossible port) are a 400, not a failure of the source.
 */
export function checkImportUrl(ref: string, what: string): URL {
  const bad = (why: string): never => {
    throw new HearthError('VALIDATION_FAILED', `${what} failed: ${why}.`, { fields: { ref: [why] } });
  };
  let url: URL;
  try {
    url = new URL(ref);
  } catch {
    return bad('it is not a valid http(s) URL (scheme, host and an optional port up to 65535)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    bad(`the URL scheme is ${url.protocol.replace(/:$/, '')}; only http and https are fetched`);
  if (!url.hostname) bad('the URL has no host');
  if (url.username || url.password)
    bad('the URL carries credentials (user:password@), which are not sent; use a pre-signed URL');
  if (url.port === '0') bad('port 0 is not a port a server listens on');
  return url;
}

/** Streams an http(s) URL into the content store, reporting bytes as they arrive. */
export async function downloadUrl(
  url: string,
  files: ContentStore,
  opts: { what: string; limit: number; progress: Progress; idleMs?: number },
): Promise<Written> {
  const target = checkImportUrl(url, opts.what);
  const idleMs = opts.idleMs ?? DEFAULT_DOWNLOAD_IDLE_MS;
  // One timer for connect, headers and every gap between body chunks: a server that accepts
  // and then says nothing cannot hold an import (and its request) open.
  const ctl = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => ctl.abort(), idleMs);
  };
  const silent = `the server sent nothing for ${idleMs / 1000} s`;
  arm();
  try {
    let res: Response;
    try {
      res = await fetch(target, { redirect: 'follow', signal: ctl.signal });
    } catch (e) {
      const cause = ctl.signal.aborted
        ? silent
        : ((e as { cause?: Error }).cause?.message ?? (e as Error).message);
      throw new HearthError('IMAGE_SOURCE_UNREACHABLE', `${opts.what} failed: ${cause}.`);
    }
    if (res.status === 404 || res.status === 410) {
      await res.body?.cancel().catch(() => undefined);
      throw new HearthError(
        'IMAGE_SOURCE_NOT_FOUND',
        `${opts.what} failed: the server answered ${res.status}.`,
      );
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel().catch(() => undefined);
      throw new HearthError(
        'IMAGE_SOURCE_DENIED',
        `${opts.what} failed: the server refused access (${res.status}).`,
        { detail: { status: res.status } },
      );
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel().catch(() => undefined);
      throw new HearthError('IMAGE_IMPORT_FAILED', `${opts.what} failed: the server answered ${res.status}.`);
    }
    arm();
    const total = Number(res.headers.get('content-length')) || undefined;
    let last = 0;
    try {
      return await files.write(fromWeb(res.body), {
        what: opts.what,
        limit: opts.limit,
        onBytes: (n) => {
          arm();
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
    } catch (e) {
      if (e instanceof HearthError) throw e;
      const why = ctl.signal.aborted ? silent : (e as Error).message;
      throw new HearthError(
        'IMAGE_SOURCE_UNREACHABLE',
        `${opts.what} failed: the download broke off (${why}).`,
      );
    }
  } finally {
    clearTimeout(timer);
  }
}
