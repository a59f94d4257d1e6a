import { ErrorEnvelope, HearthError, routes, type RouteDef, type Routes } from '@hearth/contract';
import type { z } from 'zod';

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
  token: string;
  fetch?: typeof fetch;
}

/** Typed client for the Hearth API, driven by the contract's route table. */
export class HearthClient {
  constructor(private readonly opts: ClientOptions) {}

  async call<K extends keyof Routes>(
    id: K,
    input: Input<Routes[K]> = {} as Input<Routes[K]>,
  ): Promise<Out<Routes[K]>> {
    const route = routes[id] as RouteDef;
    const params = (input.params ?? {}) as Record<string, string>;
    const path = route.path.replace(/:(\w+)/g, (_, k: string) => encodeURIComponent(params[k] ?? ''));
    const url = new URL(path, this.opts.baseUrl);
    for (const [k, v] of Object.entries((input.query ?? {}) as Record<string, unknown>)) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const hasBody = input.body !== undefined;
    let res: Response;
    try {
      res = await (this.opts.fetch ?? fetch)(url, {
        method: route.method,
        headers: {
          authorization: `Bearer ${this.opts.token}`,
          ...(hasBody ? { 'content-type': 'application/json' } : {}),
          ...input.headers,
        },
        body: hasBody ? JSON.stringify(input.body) : undefined,
      });
    } catch (e) {
      throw new ConnectionError(this.opts.baseUrl, e as Error);
    }
    const text = await res.text();
    if (!res.ok) {
      const parsed = ErrorEnvelope.safeParse(safeJson(text));
      if (parsed.success) throw HearthError.fromEnvelope(res.status, parsed.data);
      throw new HearthError(
        'INTERNAL',
        `${route.method} ${path} failed with HTTP ${res.status}: ${text.slice(0, 300)}`,
      );
    }
    return (route.response === null ? text : JSON.parse(text)) as Out<Routes[K]>;
  }

  /** Follows `nextCursor` until the list is exhausted. */
  async all<K extends 'listVms' | 'listHosts' | 'listImages'>(
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

export class ConnectionError extends Error {
  constructor(
    readonly baseUrl: string,
    cause: Error,
  ) {
    super(
      `Connecting to the Hearth manager at ${baseUrl} failed: ${(cause as { cause?: Error }).cause?.message ?? cause.message}`,
    );
    this.name = 'ConnectionError';
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
