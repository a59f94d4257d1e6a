import { HearthError } from '@hearth/contract';
import type { IncomingMessage } from 'node:http';
import type { ContentStore, Written } from './content-store.ts';
import { guardedGet, type ImportAllowList } from './egress-guard.ts';
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
  opts: { what: string; limit: number; progress: Progress; allow: ImportAllowList; idleMs?: number },
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
    let res: IncomingMessage;
    try {
      res = await guardedGet(target, {
        allow: opts.allow,
        what: opts.what,
        signal: ctl.signal,
        check: (href) => checkImportUrl(href, opts.what),
      });
    } catch (e) {
      if (e instanceof HearthError) throw e;
      const cause = ctl.signal.aborted
        ? silent
        : ((e as { cause?: Error }).cause?.message ?? (e as Error).message);
      throw new HearthError('IMAGE_SOURCE_UNREACHABLE', `${opts.what} failed: ${cause}.`);
    }
    // The idle timer also ends a body that stops arriving.
    ctl.signal.addEventListener('abort', () => res.destroy(new Error(silent)), { once: true });
    const status = res.statusCode ?? 0;
    if (status === 404 || status === 410) {
      res.destroy();
      throw new HearthError('IMAGE_SOURCE_NOT_FOUND', `${opts.what} failed: the server answered ${status}.`);
    }
    if (status === 401 || status === 403) {
      res.destroy();
      throw new HearthError(
        'IMAGE_SOURCE_DENIED',
        `${opts.what} failed: the server refused access (${status}).`,
        { detail: { status } },
      );
    }
    if (status < 200 || status > 299) {
      res.destroy();
      throw new HearthError('IMAGE_IMPORT_FAILED', `${opts.what} failed: the server answered ${status}.`);
    }
    arm();
    const total = Number(res.headers['content-length']) || undefined;
    let last = 0;
    try {
      return await files.write(res, {
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
