import { errorCodes, routes } from '@hearth/contract';
import { makeRequest, makeRng, type FuzzRequest, type FuzzTarget, type Rng } from './fuzz-input.ts';
import { rawRequest } from './raw-http.ts';

/** Longest any request may take before it counts as a hang. */
export const REQUEST_LIMIT_MS = 30_000;

export interface Failure {
  what: string;
  request: string;
  status?: number;
  detail: string;
}

export interface Outcome {
  status: number;
  body: string;
  retryAfter: boolean;
  contentType: string;
}

/** What a fuzz run saw: every status, every failure, and what 2xx creates made. */
export class FuzzLog {
  sent = 0;
  readonly statuses = new Map<number | string, number>();
  readonly failures: Failure[] = [];
  /** Ids returned by successful creates: the only new records allowed at the end. */
  readonly created = new Set<string>();

  count(status: number | string): void {
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
  }

  /** Judges one answer: no 5xx (a 503 with Retry-After is documented), 4xx in the envelope. */
  judge(request: string, o: Outcome): void {
    this.sent++;
    this.count(o.status);
    const detail = o.body.slice(0, 300);
    if (o.status >= 500 && !(o.status === 503 && o.retryAfter)) {
      this.failures.push({ what: '5xx', request, status: o.status, detail });
    } else if (o.status >= 400 && o.status !== 101) {
      let code: unknown;
      try {
        code = (JSON.parse(o.body) as { error?: { code?: unknown } }).error?.code;
      } catch {
        code = undefined;
      }
      if (!errorCodes.includes(code as never))
        this.failures.push({ what: '4xx outside the catalogue envelope', request, status: o.status, detail });
    } else if (o.status >= 200 && o.status < 300 && o.contentType.includes('json')) {
      try {
        const j = JSON.parse(o.body) as { id?: unknown; items?: Array<{ id?: unknown }> };
        if (typeof j.id === 'string') this.created.add(j.id);
        for (const it of Array.isArray(j.items) ? j.items : [])
          if (typeof it.id === 'string') this.created.add(it.id);
      } catch {
        /* NDJSON or text: not a create */
      }
    }
  }

  fail(what: string, request: string, detail: string): void {
    this.sent++;
    this.count(what);
    this.failures.push({ what, request, detail });
  }

  histogram(): string {
    return [...this.statuses]
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])))
      .map(([s, n]) => `${s}:${n}`)
      .join(' ');
  }
}

const describeReq = (r: FuzzRequest) =>
  `${r.method} ${r.url.length > 160 ? `${r.url.slice(0, 160)}…(${r.url.length})` : r.url}`;

function rawBytes(r: FuzzRequest): Buffer {
  const body = r.body === undefined ? Buffer.alloc(0) : Buffer.from(r.body);
  const head = [`${r.method} ${r.url} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [k, v] of Object.entries(r.headers)) head.push(`${k}: ${v}`);
  if (r.body !== undefined) head.push(`Content-Length: ${body.length}`);
  return Buffer.concat([Buffer.from(head.join('\r\n') + '\r\n\r\n', 'latin1'), body]);
}

/** Sends one request (fetch, or byte for byte over a socket) within the hang limit. */
export async function send(baseUrl: string, r: FuzzRequest, log: FuzzLog): Promise<void> {
  const label = describeReq(r);
  if (r.raw) {
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<'hang'>((res) => (timer = setTimeout(() => res('hang'), REQUEST_LIMIT_MS)));
    try {
      const out = await Promise.race([rawRequest(baseUrl, rawBytes(r)), hang]);
      if (out === 'hang') return log.fail('hang', label, `no answer in ${REQUEST_LIMIT_MS} ms`);
      log.judge(label, {
        status: out.status,
        body: out.body,
        retryAfter: /\r\nretry-after:/i.test(out.headers),
        contentType: /\r\ncontent-type:\s*([^\r\n]*)/i.exec(out.headers)?.[1] ?? '',
      });
    } catch (e) {
      log.fail('transport', label, (e as Error).message);
    } finally {
      clearTimeout(timer);
    }
    return;
  }
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), REQUEST_LIMIT_MS);
  try {
    const res = await fetch(baseUrl + r.url, {
      method: r.method,
      headers: r.headers,
      ...(r.body !== undefined ? { body: typeof r.body === 'string' ? r.body : new Uint8Array(r.body) } : {}),
      signal: ctl.signal,
    });
    const type = res.headers.get('content-type') ?? '';
    let body = '';
    // A stream that never ends by design (server-sent events), or a bulk archive whose time is its
    // data's size (a manager backup), is judged by its status.
    if (type.includes('text/event-stream') || type.includes('application/x-tar')) await res.body?.cancel();
    else body = await res.text();
    log.judge(label, {
      status: res.status,
      body,
      retryAfter: res.headers.has('retry-after'),
      contentType: type,
    });
  } catch (e) {
    if (ctl.signal.aborted) log.fail('hang', label, `no complete answer in ${REQUEST_LIMIT_MS} ms`);
    else
      log.fail('transport', label, `${(e as Error).message} ${String((e as { cause?: Error }).cause ?? '')}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `count` tasks with at most `width` in flight. */
export async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/**
 * The table phase: every route of the contract, in turn, with hostile params, query and body
 * (about the same number of requests per route), `width` at a time.
 */
export async function fuzzRouteTable(opts: {
  baseUrl: string;
  target: FuzzTarget;
  seed: number;
  requests: number;
  width: number;
  log: FuzzLog;
}): Promise<void> {
  const rng: Rng = makeRng(opts.seed);
  const ids = Object.keys(routes);
  const reqs: FuzzRequest[] = [];
  for (let i = 0; i < opts.requests; i++) reqs.push(makeRequest(rng, ids[i % ids.length]!, opts.target));
  // Shuffle so that concurrent requests mix routes, deterministically for the seed.
  for (let i = reqs.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [reqs[i], reqs[j]] = [reqs[j]!, reqs[i]!];
  }
  await pool(reqs, opts.width, (r) => send(opts.baseUrl, r, opts.log));
}

export { makeRng };
