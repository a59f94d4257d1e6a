import { HearthClient } from '@hearth/sdk';
import { withProject } from './project.tsx';

/**
 * The browser hashes an upload before declaring it (the API refuses content that does not match
 * the declared sha256). crypto.subtle.digest has no streaming form, so the whole file is read into
 * memory once; files above this size are refused in the page, with the CLI named instead.
 */
export const MAX_BROWSER_UPLOAD_BYTES = 2 ** 30;

export async function sha256Hex(file: Blob): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * A `fetch` that reports how much of the request body was sent. fetch() itself cannot (streamed
 * request bodies need HTTP/2), so this one runs on XMLHttpRequest; the SDK takes it through its
 * `fetch` option, so the upload still goes through `HearthClient.raw`.
 */
export function progressFetch(onProgress: (sent: number, total: number) => void): typeof fetch {
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(init.method ?? 'GET', String(input));
      xhr.responseType = 'blob';
      for (const [k, v] of Object.entries((init.headers ?? {}) as Record<string, string>)) {
        xhr.setRequestHeader(k, v);
      }
      xhr.upload.onprogress = (e) => onProgress(e.loaded, e.total);
      xhr.onload = () => {
        const headers = new Headers();
        for (const line of xhr.getAllResponseHeaders().trim().split(/\r?\n/)) {
          const i = line.indexOf(':');
          if (i > 0) headers.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
        }
        resolve(new Response(xhr.response as Blob, { status: xhr.status, headers }));
      };
      xhr.onerror = () => reject(new TypeError('the upload was interrupted'));
      xhr.onabort = () => reject(new DOMException('aborted', 'AbortError'));
      init.signal?.addEventListener('abort', () => xhr.abort());
      xhr.send((init.body ?? null) as XMLHttpRequestBodyInit | null);
    });
}

/** A client like the session's whose requests report upload progress. */
export const uploadClient = (token: string, onProgress: (sent: number, total: number) => void) =>
  new HearthClient({ baseUrl: window.location.origin, token, fetch: withProject(progressFetch(onProgress)) });
