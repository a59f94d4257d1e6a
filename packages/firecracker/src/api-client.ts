import { request } from 'node:http';
import { createConnection } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A request Firecracker answered with an error status; the message carries its `fault_message`. */
export class FirecrackerApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number | null,
    readonly faultMessage: string,
  ) {
    super(
      status === null
        ? `Firecracker ${method} ${path} failed: ${faultMessage}`
        : `Firecracker rejected ${method} ${path} (${status}): ${faultMessage}`,
    );
    this.name = 'FirecrackerApiError';
  }
}

export const DEFAULT_API_TIMEOUT_MS = 10_000;

/**
 * Firecracker's REST API over its Unix socket. One short-lived HTTP request per call (the server
 * handles one connection at a time anyway); every call has a deadline so a hung VMM is an error,
 * never a hang.
 */
export class FirecrackerApi {
  constructor(
    readonly socketPath: string,
    private readonly timeoutMs = DEFAULT_API_TIMEOUT_MS,
  ) {}

  put(path: string, body: unknown, timeoutMs?: number): Promise<void> {
    return this.call('PUT', path, body, timeoutMs).then(() => undefined);
  }

  patch(path: string, body: unknown, timeoutMs?: number): Promise<void> {
    return this.call('PATCH', path, body, timeoutMs).then(() => undefined);
  }

  get<T>(path: string, timeoutMs?: number): Promise<T> {
    return this.call('GET', path, undefined, timeoutMs) as Promise<T>;
  }

  call(method: string, path: string, body?: unknown, timeoutMs = this.timeoutMs): Promise<unknown> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          // A fresh connection per call: a pooled one may belong to a process that has since gone.
          agent: false,
          method,
          path,
          headers: {
            accept: 'application/json',
            ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e) => reject(new FirecrackerApiError(method, path, null, e.message)));
          res.on('end', () => {
            clearTimeout(timer);
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            const json = parseJson(text);
            if (status >= 200 && status < 300) return resolve(json);
            const fault =
              json && typeof json === 'object' && 'fault_message' in json
                ? String((json as { fault_message: unknown }).fault_message)
                : text.trim() || 'no fault message';
            reject(new FirecrackerApiError(method, path, status, fault));
          });
        },
      );
      const timer = setTimeout(() => {
        req.destroy();
        reject(new FirecrackerApiError(method, path, null, `no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      req.on('error', (e) => {
        clearTimeout(timer);
        reject(new FirecrackerApiError(method, path, null, e.message));
      });
      req.end(payload);
    });
  }
}

function parseJson(text: string): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** One connect() attempt: the socket file may exist before Firecracker listens on it. */
export function canConnect(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Resolves once the API socket accepts a connection; rejects with `gone()`'s message as soon as
 * the process is known to have ended, or after `timeoutMs`.
 */
export async function waitForSocket(
  path: string,
  gone: () => Promise<string | null>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await canConnect(path)) return;
    const why = await gone();
    if (why) throw new Error(why);
    if (Date.now() > deadline)
      throw new Error(`its API socket did not accept connections within ${timeoutMs} ms`);
    await sleep(5);
  }
}
