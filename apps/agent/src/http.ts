import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { z } from 'zod';
import {
  catalogueCodeForGuest,
  HearthError,
  parseInput,
  validationError,
  type AgentRouteDef,
} from '@hearth/contract';
import { GuestError } from './guest/errors.ts';

type In<T> = T extends z.ZodType ? z.output<T> : undefined;

export interface AgentCtx<R extends AgentRouteDef> {
  params: In<R['params']>;
  query: In<R['query']>;
  body: In<R['body']>;
  req: FastifyRequest;
  reply: FastifyReply;
}

/** Registers an agent route from the contract's table: params, query and body parsed by its schemas. */
export function serve<R extends AgentRouteDef>(
  app: FastifyInstance,
  route: R,
  handler: (ctx: AgentCtx<R>) => Promise<unknown>,
): void {
  app.route({
    method: route.method,
    url: route.path,
    handler: async (req, reply) => {
      const ctx = {
        params: parseInput(route.params, req.params, 'path'),
        query: parseInput(route.query, req.query, 'query'),
        // A raw body (an upload stream) is the handler's to read.
        body: parseInput(route.body, req.body, 'body'),
        req,
        reply,
      } as AgentCtx<R>;
      const out = await handler(ctx);
      if (route.response === null && !reply.getHeader('content-type'))
        reply.type('text/plain; charset=utf-8');
      return out;
    },
  });
}

/** Registers a WebSocket route from the table; bad params or query end the socket with the reason. */
export function serveWs<R extends AgentRouteDef>(
  app: FastifyInstance,
  route: R,
  handler: (ws: WebSocket, ctx: Pick<AgentCtx<R>, 'params' | 'query' | 'req'>) => void | Promise<void>,
): void {
  app.get(route.path, { websocket: true }, (ws, req) => {
    let params: In<R['params']>;
    let query: In<R['query']>;
    try {
      params = parseInput(route.params, req.params, 'path') as In<R['params']>;
      query = parseInput(route.query, req.query, 'query') as In<R['query']>;
    } catch (e) {
      return sendWsError(ws, e);
    }
    return handler(ws, { params, query, req });
  });
}

/** Ends a WebSocket with the catalogue code and message of a failure. */
/** A WebSocket message's bytes, whatever shape `ws` delivered them in. */
export const wsBytes = (data: unknown): Buffer =>
  Buffer.isBuffer(data)
    ? data
    : Array.isArray(data)
      ? Buffer.concat(data as Buffer[])
      : Buffer.from(data as ArrayBuffer);

export function sendWsError(ws: WebSocket, e: unknown): void {
  const err = toHearthError(e);
  ws.send(JSON.stringify({ type: 'error', code: err.code, message: err.message }));
  ws.close(1011, 'error');
}

/**
 * The guest's failures (and the agent's own GuestErrors) are clauses, as Go errors are; the
 * catalogue's messages are sentences. This is the one place a guest reason becomes one.
 */
function guestSentence(message: string): string {
  const s = message.charAt(0).toUpperCase() + message.slice(1);
  return s.endsWith('.') ? s : `${s}.`;
}

/**
 * Any failure as a catalogue error. A plain Error (not a HearthError) is AGENT_ERROR: the manager
 * reports it as this agent's failure, with the HTTP status it was thrown with (else 500).
 */
export function toHearthError(err: unknown): HearthError {
  if (err instanceof HearthError) return err;
  if (err instanceof GuestError)
    return new HearthError(catalogueCodeForGuest(err.code), guestSentence(err.message));
  const e = err as Error & { code?: string; statusCode?: number; issues?: z.core.$ZodIssue[] };
  if (e.name === 'ZodError' && e.issues) return validationError('the request', e.issues);
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return new HearthError('PAYLOAD_TOO_LARGE', 'Reading the request failed: the body is too large.');
  if (e.code?.startsWith('FST_ERR_CTP') || (e instanceof SyntaxError && e.statusCode === 400))
    return new HearthError('INVALID_JSON', `Reading the request body failed: ${e.message}.`);
  const status = e.statusCode && e.statusCode >= 400 && e.statusCode < 600 ? e.statusCode : 500;
  return Object.assign(new HearthError('AGENT_ERROR', e.message ?? String(err), { detail: { status } }), {
    status,
  });
}

/** Every failure leaves in the catalogue's envelope, as the manager's own do. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err, req, reply) => {
    const e = toHearthError(err);
    if (e.code === 'AGENT_ERROR' && e.status >= 500) req.log.error({ err }, 'request failed');
    if (e.retryAfterS !== undefined) reply.header('retry-after', String(e.retryAfterS));
    // A streaming route may have set its content type before it failed.
    reply.code(e.status).type('application/json').send(e.toEnvelope(req.id));
  });
  app.setNotFoundHandler((req, reply) => {
    const e = new HearthError(
      'ROUTE_NOT_FOUND',
      `No route ${req.method} ${req.url.split('?')[0]} on this agent.`,
    );
    reply.code(404).type('application/json').send(e.toEnvelope(req.id));
  });
}
