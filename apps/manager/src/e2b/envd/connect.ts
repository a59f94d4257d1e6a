import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HearthError } from '@hearth/contract';
import { passThrough } from '@hearth/contract/streams';
import { connectStatus, EnvdError } from './context.ts';

// The Connect protocol's JSON form, as the e2b SDK speaks it (connect-web, useBinaryFormat
// false): unary calls are a POST of one JSON message answered by one; server-streaming calls
// send and receive enveloped messages (a flags byte, a 32-bit big-endian length, the JSON), the
// last one flagged end-of-stream (0x02) and carrying the error, if any. See docs/decisions/0018.

const END_STREAM = 0x02;
const MAX_MESSAGE = 16 * 1024 * 1024;

/** An EnvdError for anything thrown: the catalogue's codes map onto Connect's. */
export function toEnvdError(e: unknown): EnvdError {
  if (e instanceof EnvdError) return e;
  if (e instanceof HearthError) {
    const code: EnvdError['code'] =
      e.status === 404
        ? 'not_found'
        : e.status === 401
          ? 'unauthenticated'
          : e.status === 403
            ? 'permission_denied'
            : e.status === 409
              ? 'failed_precondition'
              : e.status === 429
                ? 'resource_exhausted'
                : e.status === 503
                  ? 'unavailable'
                  : e.status === 400 || e.status === 413 || e.status === 422
                    ? 'invalid_argument'
                    : 'internal';
    return new EnvdError(code, e.message);
  }
  return new EnvdError('internal', (e as Error)?.message ?? String(e));
}

/** Frames one enveloped message. */
export function envelope(message: unknown, flags = 0): Buffer {
  const json = Buffer.from(JSON.stringify(message));
  const head = Buffer.alloc(5);
  head.writeUInt8(flags, 0);
  head.writeUInt32BE(json.length, 1);
  return Buffer.concat([head, json]);
}

/** The end-of-stream envelope: `{}` on success, `{error: {code, message}}` on failure. */
export function endEnvelope(err?: EnvdError): Buffer {
  return envelope(err ? { error: { code: err.code, message: err.message } } : {}, END_STREAM);
}

/** The first enveloped message of a streaming request's body. */
export function firstMessage(body: Buffer): Record<string, unknown> {
  if (body.length < 5) throw new EnvdError('invalid_argument', 'the request has no enveloped message');
  const len = body.readUInt32BE(1);
  if (len > MAX_MESSAGE || body.length < 5 + len) {
    throw new EnvdError('invalid_argument', 'the enveloped message is truncated or too large');
  }
  return parseJson(body.subarray(5, 5 + len));
}

function parseJson(b: Buffer): Record<string, unknown> {
  try {
    const v = JSON.parse(b.length ? b.toString('utf8') : '{}') as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new EnvdError('invalid_argument', `the message is not a JSON object: ${(e as Error).message}`);
  }
}

/** Sends a unary call's error in Connect's shape. */
export function sendUnaryError(reply: FastifyReply, err: EnvdError): FastifyReply {
  return reply
    .code(connectStatus[err.code])
    .type('application/json')
    .send({ code: err.code, message: err.message });
}

/** A unary Connect method at `/<service>/<method>`. */
export function unary(
  app: FastifyInstance,
  path: string,
  handler: (msg: Record<string, unknown>, req: FastifyRequest) => Promise<unknown>,
  toError: (e: unknown) => EnvdError = toEnvdError,
): void {
  app.post(path, async (req, reply) => {
    try {
      const msg = parseJson(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
      const out = await handler(msg, req);
      return reply
        .code(200)
        .type('application/json')
        .send(JSON.stringify(out ?? {}));
    } catch (e) {
      return sendUnaryError(reply, toError(e));
    }
  });
}

/** Writes one server-streaming response; `end` closes it, with an error or without. */
export interface ServerStream {
  send(message: unknown): void;
  end(err?: unknown): void;
  /** Resolves when the client went away (or the stream ended). */
  readonly closed: Promise<void>;
  readonly signal: AbortSignal;
}

/**
 * A server-streaming Connect method. `open` checks the request and may throw before anything is
 * sent (answered as a stream holding only the error, as Connect does); then it feeds the stream.
 */
export function serverStreaming(
  app: FastifyInstance,
  path: string,
  open: (msg: Record<string, unknown>, req: FastifyRequest, stream: ServerStream) => Promise<void>,
  toError: (e: unknown) => EnvdError = toEnvdError,
): void {
  app.post(path, async (req, reply) => {
    const out = passThrough();
    const abort = new AbortController();
    let ended = false;
    let closedResolve: () => void = () => undefined;
    const closed = new Promise<void>((r) => (closedResolve = r));
    const finish = () => {
      abort.abort();
      closedResolve();
    };
    // The response closes when it ended or when the client went away, whichever comes first.
    reply.raw.once('close', finish);
    const stream: ServerStream = {
      send(message) {
        if (!ended) out.write(envelope(message));
      },
      end(err) {
        if (ended) return;
        ended = true;
        out.end(endEnvelope(err === undefined ? undefined : toError(err)));
        closedResolve();
      },
      closed,
      signal: abort.signal,
    };
    reply.code(200).type('application/connect+json');
    try {
      const msg = firstMessage(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
      void open(msg, req, stream).catch((e: unknown) => stream.end(e));
    } catch (e) {
      stream.end(e);
    }
    return reply.send(out);
  });
}

/** Connect bodies arrive as bytes; each handler parses them. */
export function installConnectParsers(app: FastifyInstance): void {
  app.addContentTypeParser(
    ['application/json', 'application/connect+json', 'application/proto', 'application/connect+proto'],
    { parseAs: 'buffer', bodyLimit: MAX_MESSAGE },
    (_req, body, done) => done(null, body),
  );
}
