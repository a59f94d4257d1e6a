import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { HearthError, parseInput, routes, type ProjectRole, type RouteDef } from '@hearth/contract';
import type { z } from 'zod';
import type { Authority } from './auth/authority.ts';
import { actorOf, type Principal } from './auth/principal.ts';
import { isDatabaseUnreachable } from './db/unreachable.ts';

export interface Ctx<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: Principal;
  actor: string;
  /** The project the request acts in (checked: the caller holds the route's role there). */
  project: string;
  /** The caller's role in `project` (capped by a token's ceiling); null on platform routes. */
  role: ProjectRole | null;
  req: FastifyRequest;
  reply: FastifyReply;
}

type In<T> = T extends z.ZodType ? z.output<T> : undefined;

interface Granted {
  principal: Principal;
  project: string;
  role: ProjectRole | null;
}

const granted = new WeakMap<FastifyRequest, Granted>();
const principals = new WeakMap<FastifyRequest, Principal>();

/** Each route's id in the contract's table, which names its required role. */
const ROUTE_IDS = new Map<RouteDef, string>(Object.entries(routes).map(([id, r]) => [r as RouteDef, id]));

export function routeIdOf(route: RouteDef): string {
  const id = ROUTE_IDS.get(route);
  if (!id) throw new Error(`route ${route.method} ${route.path} is not in the contract's route table`);
  return id;
}

const errorCodes = new WeakMap<FastifyRequest, string>();

/** What the request was granted (its project and role), once authorized. */
export function grantedOf(req: FastifyRequest): Granted | undefined {
  return granted.get(req);
}

/** The catalogue code the request failed with, if it failed (for the audit trail). */
export function errorCodeOf(req: FastifyRequest): string | undefined {
  return errorCodes.get(req);
}

/** The request's principal once authenticated (for hooks that run after the route's own). */
export function principalOf(req: FastifyRequest): Principal | undefined {
  return principals.get(req);
}

/** Authenticates and authorizes a request outside `serve()` (WebSocket upgrades, streams). */
export async function admit(auth: Authority, req: FastifyRequest, route: RouteDef): Promise<Granted> {
  const principal = await auth.authenticate(req, route);
  principals.set(req, principal);
  const project = auth.projectOf(req, principal, route);
  const role = await auth.authorize(principal, route, routeIdOf(route), project);
  return { principal, project, role };
}

/** Process input sent as text (exec `stdin`, stdin `data`): bytes for the guest, never stored. */
const RAW_TEXT_FIELDS = new Set(['stdin', 'data']);

/**
 * The engine's own check for unpaired surrogates (ES2024, not yet in our TypeScript lib). A regular
 * expression with a lookbehind did the same, but took tens of seconds, the whole event loop held,
 * on a body of tens of megabytes (an archive upload is allowed 50 MiB).
 */
const wellFormed = (s: string) => (s as string & { isWellFormed(): boolean }).isWellFormed();

function textProblem(s: string): string | null {
  if (s.includes('\u0000')) return 'must not contain NUL (U+0000) characters';
  if (!wellFormed(s)) return 'must not contain unpaired UTF-16 surrogates';
  return null;
}

/** Where a value sits in the request: its key and its parent's place (null at the top). */
type Place = { key: string; up: Place | null } | null;

const placeName = (at: Place, what: string): string => {
  const keys: string[] = [];
  for (let p = at; p; p = p.up) keys.push(p.key);
  return keys.length ? keys.reverse().join('.') : `(${what})`;
};

/**
 * Rejects NUL characters and unpaired surrogates anywhere in path, query or JSON body (keys and
 * values): PostgreSQL text cannot hold them, and no name, label or setting needs them.
 * Iterative, so a deeply nested body cannot exhaust the stack, and linear in the body's size: each
 * value keeps a link to its parent's place, spelled out only for a problem (copying the path for
 * every value held the event loop for tens of seconds on a body nested 100,000 deep).
 */
export function checkText(value: unknown, what: 'path' | 'query' | 'body'): void {
  const byField = new Map<string, string[]>();
  const add = (at: Place, msg: string) => {
    const k = placeName(at, what);
    byField.set(k, [...(byField.get(k) ?? []), msg]);
  };
  const stack: Array<[unknown, Place]> = [[value, null]];
  while (stack.length) {
    const [v, at] = stack.pop()!;
    if (typeof v === 'string') {
      const p = textProblem(v);
      if (p) add(at, p);
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push([v[i], { key: String(i), up: at }]);
    } else if (v !== null && typeof v === 'object') {
      // A raw body (upload stream, buffer) is bytes, not text.
      if (Buffer.isBuffer(v) || typeof (v as { pipe?: unknown }).pipe === 'function') continue;
      for (const [k, x] of Object.entries(v)) {
        const here = { key: k, up: at };
        const p = textProblem(k);
        if (p) add(here, `key ${p}`);
        if (!(what === 'body' && at === null && RAW_TEXT_FIELDS.has(k))) stack.push([x, here]);
      }
    }
  }
  const first = [...byField][0];
  if (!first) return;
  throw new HearthError(
    'VALIDATION_FAILED',
    `Validating the request ${what} failed: ${JSON.stringify(first[0])}: ${first[1][0]}.`,
    { fields: Object.fromEntries(byField) },
  );
}

/** Registers a route from the contract: auth, zod validation of params/query/body, status code. */
export function serve<R extends RouteDef>(
  app: FastifyInstance,
  auth: Authority,
  route: R,
  handler: (ctx: Ctx<In<R['params']>, In<R['query']>, In<R['body']>>) => Promise<unknown>,
): void {
  const routeId = routeIdOf(route);
  app.route({
    method: route.method,
    url: route.path,
    ...(route.bodyLimit ? { bodyLimit: route.bodyLimit } : {}),
    // Authentication comes before the body is read: without a token, any body gets a 401.
    onRequest: async (req) => {
      principals.set(req, await auth.authenticate(req, route));
    },
    // Authorization needs the project, which a body may name: it runs once the body is read.
    preHandler: async (req) => {
      const principal = principals.get(req)!;
      auth.checkCsrf(req, principal);
      checkText(req.params, 'path');
      checkText(req.query, 'query');
      checkText(req.body, 'body');
      const project = auth.projectOf(req, principal, route);
      const role = await auth.authorize(principal, route, routeId, project);
      granted.set(req, { principal, project, role });
    },
    handler: async (req, reply) => {
      const { principal, project, role } = granted.get(req)!;
      const ctx = {
        params: parseInput(route.params, req.params, 'path'),
        query: parseInput(route.query, req.query, 'query'),
        body: parseInput(route.body, req.body, 'body'),
        principal,
        actor: actorOf(principal),
        project,
        role,
        req,
        reply,
      } as Ctx<In<R['params']>, In<R['query']>, In<R['body']>>;
      const out = await handler(ctx);
      if (reply.sent) return reply;
      reply.code(reply.statusCode !== 200 ? reply.statusCode : route.status);
      if (route.response === null && !reply.getHeader('content-type'))
        reply.type('text/plain; charset=utf-8');
      return out;
    },
  });
}

/** Every failure leaves as the catalogue's envelope; nothing else reaches a client. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, req, reply) => {
    let e: HearthError;
    if (err instanceof HearthError) e = err;
    else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      e = new HearthError('PAYLOAD_TOO_LARGE', 'Reading the request failed: the body is too large.');
    else if (err.code?.startsWith('FST_ERR_CTP') || (err instanceof SyntaxError && err.statusCode === 400)) {
      e = new HearthError('INVALID_JSON', `Reading the request body failed: ${err.message}.`);
    } else if (isDatabaseUnreachable(err)) {
      e = new HearthError(
        'DATABASE_UNAVAILABLE',
        'The server could not reach its database; try again shortly.',
      );
    } else if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      e = new HearthError('VALIDATION_FAILED', `Reading the request failed: ${err.message}.`);
    } else {
      req.log.error({ err }, 'unhandled error');
      e = new HearthError('INTERNAL', 'The server failed to handle the request.');
    }
    errorCodes.set(req, e.code);
    if (e.status >= 500) req.log.warn({ code: e.code, msg: e.message }, 'request failed');
    // Every 503 is retryable by definition: say when, even where the thrower did not.
    const retryAfter = e.retryAfterS ?? (e.status === 503 ? 2 : undefined);
    if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
    reply.code(e.status).type('application/json').send(e.toEnvelope(req.id));
  });
  app.setNotFoundHandler((req, reply) => {
    const e = new HearthError('ROUTE_NOT_FOUND', `No route ${req.method} ${req.url.split('?')[0]}.`);
    reply.code(404).send(e.toEnvelope(req.id));
  });
}

/** Longest path segment the router matches; the contract's ids are at most 128 characters. */
export const MAX_PARAM_LENGTH = 1024;

/**
 * Fastify options for failures below the routes (the router, the HTTP parser), so that they
 * too leave in the catalogue's envelope.
 */
export const frameworkOptions: Pick<
  FastifyServerOptions,
  'frameworkErrors' | 'clientErrorHandler' | 'routerOptions'
> = {
  routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
  frameworkErrors: (err, req, reply) => {
    let e: HearthError;
    if (err.code === 'FST_ERR_BAD_URL') {
      e = new HearthError(
        'MALFORMED_REQUEST',
        'Reading the request failed: the URL has a malformed percent-escape.',
      );
    } else if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
      e = new HearthError(
        'VALIDATION_FAILED',
        `Validating the request path failed: a path segment is longer than ${MAX_PARAM_LENGTH} characters.`,
        { fields: { '(path)': [`at most ${MAX_PARAM_LENGTH} characters per segment`] } },
      );
    } else {
      req.log.error({ err }, 'router failure');
      e = new HearthError('INTERNAL', 'The server failed to route the request.');
    }
    const r = reply as unknown as FastifyReply;
    void r.code(e.status).type('application/json').send(e.toEnvelope(req.id));
  },
  clientErrorHandler: (err: Error & { code?: string }, socket: Socket) => {
    // A reset connection has nobody left to answer.
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    let e: HearthError;
    if (err.code === 'HPE_HEADER_OVERFLOW') {
      e = new HearthError(
        'REQUEST_HEADERS_TOO_LARGE',
        'Reading the request failed: the request line and headers exceed 16 KiB.',
      );
    } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      e = new HearthError('REQUEST_TIMEOUT', 'Reading the request failed: it did not arrive in time.');
    } else {
      e = new HearthError(
        'MALFORMED_REQUEST',
        `Reading the request failed: it is not valid HTTP/1.1 (${err.code ?? err.message}).`,
      );
    }
    if (socket.writable) {
      const body = JSON.stringify(e.toEnvelope());
      socket.write(
        `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status]}\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  },
};
