import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HearthError, validationError, type RouteDef } from '@hearth/contract';
import type { z } from 'zod';
import type { Principal, TokenStore } from './store/tokens.ts';

export interface Ctx<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: Principal;
  actor: string;
  req: FastifyRequest;
  reply: FastifyReply;
}

type In<T> = T extends z.ZodType ? z.output<T> : undefined;

function parse<T extends z.ZodType | undefined>(schema: T, value: unknown, what: string): In<T> {
  if (!schema) return undefined as In<T>;
  const r = schema.safeParse(value ?? (what === 'body' ? {} : value));
  if (!r.success) throw validationError(`the request ${what}`, r.error.issues);
  return r.data as In<T>;
}

export async function authenticate(
  req: FastifyRequest,
  route: RouteDef,
  tokens: TokenStore,
): Promise<Principal> {
  const header = req.headers.authorization;
  const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : null;
  const principal = token ? await tokens.verify(token) : null;
  if (route.auth === 'join') {
    if (!principal || principal.kind !== 'join') {
      throw new HearthError(
        'INVALID_JOIN_TOKEN',
        'Registering the host failed: the join token is missing or wrong.',
      );
    }
    return principal;
  }
  if (!principal) {
    throw new HearthError(
      'UNAUTHENTICATED',
      token
        ? 'Authenticating failed: the token is not valid.'
        : 'Authenticating failed: no bearer token was sent.',
    );
  }
  if (route.auth === 'agent' && principal.kind !== 'agent') {
    throw new HearthError('FORBIDDEN', 'This route is for host agents only.');
  }
  if (route.auth === 'user-or-agent' && principal.kind !== 'admin' && principal.kind !== 'agent') {
    throw new HearthError('FORBIDDEN', 'This route needs a user or agent token.');
  }
  if (route.auth === 'user' && principal.kind !== 'admin') {
    throw new HearthError('FORBIDDEN', 'This route needs a user token, not an agent or join token.');
  }
  return principal;
}

/** Registers a route from the contract: auth, zod validation of params/query/body, status code. */
export function serve<R extends RouteDef>(
  app: FastifyInstance,
  tokens: TokenStore,
  route: R,
  handler: (ctx: Ctx<In<R['params']>, In<R['query']>, In<R['body']>>) => Promise<unknown>,
): void {
  app.route({
    method: route.method,
    url: route.path,
    handler: async (req, reply) => {
      const principal = await authenticate(req, route, tokens);
      const ctx = {
        params: parse(route.params, req.params, 'path'),
        query: parse(route.query, req.query, 'query'),
        body: parse(route.body, req.body, 'body'),
        principal,
        actor: `${principal.kind}:${principal.tokenId}`,
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
    } else if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      e = new HearthError('VALIDATION_FAILED', `Reading the request failed: ${err.message}.`);
    } else {
      req.log.error({ err }, 'unhandled error');
      e = new HearthError('INTERNAL', 'The server failed to handle the request.');
    }
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
