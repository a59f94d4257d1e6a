import { ErrorEnvelope, HearthError, routes, type RouteDef, type Routes } from '@hearth/contract';
import type { z } from 'zod';
import { ConnectionError } from './connection-error.ts';

type Out<R extends RouteDef> = R['response'] extends z.ZodType ? z.output<R['response']> : string;
type Input<R extends RouteDef> = (R['params'] extends z.ZodType
  ? { params: z.input<R['params']> }
  : { params?: undefined }) &
  (R['query'] extends z.ZodType ? { query?: z.input<R['query']> } : { query?: undefined }) &
  (R['body'] extends z.ZodType ? { body?: z.input<R['body']> } : { body?: undefined }) & {
    headers?: Record<string, string>;
  };

export interface ClientOptions {
  baseUrl: string;
  /** Bearer token; omit in a browser signed in with a session cookie (sent by the browser). */
  token?: string;
  /** The session's CSRF value, sent as `X-CSRF-Token` on writes (cookie sessions). */
  csrf?: string;
  /** The project every request acts in (sent as `X-Hearth-Project`); absent: the caller's default. */
  project?: string | null;
  fetch?: typeof fetch;
}

/** The header naming the project a request acts in. */
export const PROJECT_HEADER = 'x-hearth-project';

const SAFE_METHODS = new Set(['GET', 'HEAD']);

/** Typed client for the Hearth API, driven by the contract's route table. */
export class HearthClient {
  constructor(private readonly opts: ClientOptions) {}

  /** The project requests act in, or null for the caller's default. */
  get project(): string | null {
    return this.opts.project ?? null;
  }

  /** The same client acting in another project (null: the caller's default project). */
  withProject(project: string | null): HearthClient {
    return new HearthClient({ ...this.opts, project });
  }

  /** Credentials and project, the headers every request carries. */
  private baseHeaders(): Record<string, string> {
    return {
      // No credential at all for sign-in, rather than an empty one.
      ...(this.opts.token ? { authorization: `Bearer ${this.opts.token}` } : {}),
      ...(this.opts.project ? { [PROJECT_HEADER]: this.opts.project } : {}),
    };
  }

  /** The absolute URL of a route with its path parameters and query filled in. */
  url<K extends keyof Routes>(id: K, input: Pick<Input<Routes[K]>, 'params' | 'query'> = {} as never): URL {
    const route = routes[id] as RouteDef;
    const params = (input.params ?? {}) as Record<string, string>;
    const path = route.path.replace(/:(\w+)/g, (_, k: string) => encodeURIComponent(params[k] ?? ''));
    const url = new URL(path, this.opts.baseUrl);
    for (const [k, v] of Object.entries((input.query ?? {}) as Record<string, unknown>)) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    return url;
  }

  /**
   * Sends a request and returns the unread Response when it succeeded (streams, downloads);
   * failures become HearthError / ConnectionError exactly as with `call`.
   */
  async raw<K extends keyof Routes>(
    id: K,
    input: Input<Routes[K]> = {} as Input<Routes[K]>,
    init: { body?: BodyInit; headers?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<Response> {
    const route = routes[id] as RouteDef;
    const url = this.url(id, input as never);
    const hasBody = input.body !== undefined;
    let res: Response;
    try {
      res = await (this.opts.fetch ?? fetch)(url, {
        method: route.method,
        headers: {
          ...this.baseHeaders(),
          ...(this.opts.csrf && !SAFE_METHODS.has(route.method) ? { 'x-csrf-token': this.opts.csrf } : {}),
          ...(hasBody ? { 'content-type': 'application/json' } : {}),
          ...input.headers,
          ...init.headers,
        },
        body: hasBody ? JSON.stringify(input.body) : init.body,
        signal: init.signal ?? null,
        ...(init.body ? { duplex: 'half' } : {}),
      } as RequestInit);
    } catch (e) {
      throw new ConnectionError(this.opts.baseUrl, e as Error);
    }
    if (!res.ok) {
      const text = await res.text();
      const parsed = ErrorEnvelope.safeParse(safeJson(text));
      if (parsed.success) throw HearthError.fromEnvelope(res.status, parsed.data);
      throw new HearthError(
        'INTERNAL',
        `${route.method} ${url.pathname} failed with HTTP ${res.status}: ${text.slice(0, 300)}`,
      );
    }
    return res;
  }

  async call<K extends keyof Routes>(
    id: K,
    input: Input<Routes[K]> = {} as Input<Routes[K]>,
  ): Promise<Out<Routes[K]>> {
    const route = routes[id] as RouteDef;
    const text = await (await this.raw(id, input)).text();
    return (route.response === null ? text : JSON.parse(text)) as Out<Routes[K]>;
  }

  /**
   * URL and headers for a WebSocket route, for clients that can send headers (Node's `ws`):
   * the credential goes in the Authorization header, never in the URL.
   */
  websocket<K extends keyof Routes>(
    id: K,
    input: Pick<Input<Routes[K]>, 'params' | 'query'> = {} as never,
  ): { url: string; headers: Record<string, string> } {
    const url = this.url(id, input);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return { url: url.toString(), headers: this.baseHeaders() };
  }

  /**
   * A URL for a WebSocket or the event stream that a client without headers (a browser's
   * WebSocket or EventSource) can open once: with a bearer token it carries a fresh single-use
   * `?ticket=`; with a cookie session it needs none (the browser sends the cookie).
   */
  async connectUrl<K extends 'vmConsole' | 'vmShell' | 'vmMetricsStream' | 'eventStream'>(
    id: K,
    input: Pick<Input<Routes[K]>, 'params' | 'query'> = {} as never,
  ): Promise<string> {
    const url = this.url(id, input);
    if (id !== 'eventStream') url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    if (this.opts.token) url.searchParams.set('ticket', (await this.call('createTicket')).ticket);
    return url.toString();
  }

  /** Follows `nextCursor` until the list is exhausted. */
  async all<
    K extends
      | 'listVms'
      | 'listHosts'
      | 'listImages'
      | 'listSnapshots'
      | 'listVolumes'
      | 'listTemplates'
      | 'listNetworks'
      | 'listTokens'
      | 'listUsers'
      | 'listProjects'
      | 'listPools'
      | 'listSchedules',
  >(
    id: K,
    query: Record<string, unknown> = {},
  ): Promise<Out<Routes[K]> extends { items: (infer T)[] } ? T[] : never> {
    const items: unknown[] = [];
    let cursor: string | undefined;
    do {
      const page = (await this.call(id, { query: { ...query, limit: 500, cursor } } as never)) as unknown as {
        items: unknown[];
        nextCursor: string | null;
      };
      items.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return items as never;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
