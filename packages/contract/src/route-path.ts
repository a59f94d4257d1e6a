import type { z } from 'zod';
import { validationError } from './errors.ts';

/** What every route table (public or agent) says about a route's inputs and output. */
export interface RouteShape {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  path: string;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  /** null: the response is plain text (or, with `raw`, the raw content type) */
  response: z.ZodType | null;
}

/** The inputs a caller sends: path parameters and query, and the JSON body where there is one. */
export type RouteInput<R extends RouteShape> = (R['params'] extends z.ZodType
  ? { params: z.input<R['params']> }
  : { params?: undefined }) &
  (R['query'] extends z.ZodType ? { query?: z.input<R['query']> } : { query?: undefined }) &
  (R['body'] extends z.ZodType ? { body: z.input<R['body']> } : { body?: undefined });

/** What a successful call answers: the response schema's output, or text. */
export type RouteOutput<R extends RouteShape> = R['response'] extends z.ZodType
  ? z.output<R['response']>
  : string;

/** The path of a route with its parameters filled in (each encoded) and its query appended. */
export function routePath(path: string, input: { params?: unknown; query?: unknown } = {}): string {
  const params = (input.params ?? {}) as Record<string, unknown>;
  const filled = path.replace(/:(\w+)/g, (_, k: string) => {
    const v = params[k];
    if (v === undefined || v === null || v === '') throw new Error(`route ${path}: no value for :${k}`);
    return encodeURIComponent(String(v));
  });
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries((input.query ?? {}) as Record<string, unknown>)) {
    if (v !== undefined) query.set(k, String(v));
  }
  const qs = query.toString();
  return qs ? `${filled}?${qs}` : filled;
}

type Parsed<T> = T extends z.ZodType ? z.output<T> : undefined;

/**
 * One input of a request (path, query or body) parsed by its route's schema; a failure is the
 * catalogue's VALIDATION_FAILED with per-field messages. No body at all means "no fields"; a
 * JSON `null` is a body, and not an object.
 */
export function parseInput<T extends z.ZodType | undefined>(
  schema: T,
  value: unknown,
  what: 'path' | 'query' | 'body',
): Parsed<T> {
  if (!schema) return undefined as Parsed<T>;
  const r = schema.safeParse(value === undefined && what === 'body' ? {} : value);
  if (!r.success) throw validationError(`the request ${what}`, r.error.issues);
  return r.data as Parsed<T>;
}
