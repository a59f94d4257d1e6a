import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { passThrough } from '@hearth/contract/streams';
import { connectStatus, EnvdError } from '../context.ts';
import { envdCode } from './guest.ts';

// The Connect protocol with JSON, as the e2b SDK's connect-web transport speaks it
// (useBinaryFormat false). Unary: a POST of one JSON message, answered by one, or by
// `{code, message}` with the code's HTTP status. Server streaming: the request and the answer are
// enveloped messages (a flags byte, a 32-bit big-endian length, the JSON); the answer is always
// HTTP 200 and its last envelope (flag 0x02) carries the error, if any.

const END_STREAM = 0x02;
/** Requests are small JSON messages (paths, flags). */
export const MAX_MESSAGE = 1024 * 1024;

export type Message = Record<string, unknown>;

function parseObject(b: Buffer): Message {
  try {
    const v = JSON.parse(b.length ? b.toString('utf8') : '{}') as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v as Message;
  } catch (e) {
    throw new EnvdError('invalid_argument', `the message is not a JSON object: ${(e as Error).message}`);
  }
}

/** The request's message, whether the body arrived as bytes or already parsed. */
function unaryMessage(body: unknown): Message {
  if (Buffer.isBuffer(body)) return parseObject(body);
  if (body && typeof body === 'object' && !Array.isArray(body)) return body as Message;
  return {};
}

/** The single enveloped message of a server-streaming request. */
export function firstEnvelope(body: unknown): Message {
  const b = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
  if (b.length < 5) throw new EnvdError('invalid_argument', 'the request holds no enveloped message');
  const len = b.readUInt32BE(1);
  if (b.length < 5 + len) throw new EnvdError('invalid_argument', 'the enveloped message is truncated');
  return parseObject(b.subarray(5, 5 + len));
}

export function envelope(message: unknown, flags = 0): Buffer {
  const json = Buffer.from(JSON.stringify(message));
  const head = Buffer.alloc(5);
  head.writeUInt8(flags, 0);
  head.writeUInt32BE(json.length, 1);
  return Buffer.concat([head, json]);
}

export function sendUnaryError(reply: FastifyReply, err: EnvdError): FastifyReply {
  return reply
    .code(connectStatus[err.code])
    .type('application/json')
    .send(JSON.stringify({ code: err.code, message: err.message }));
}

export function unary(
  app: FastifyInstance,
  path: string,
  handler: (msg: Message, req: FastifyRequest) => Promise<unknown>,
): void {
  app.post(path, async (req, reply) => {
    try {
      const out = await handler(unaryMessage(req.body), req);
      return reply
        .code(200)
        .type('application/json')
        .send(JSON.stringify(out ?? {}));
    } catch (e) {
      return sendUnaryError(reply, envdCode(e));
    }
  });
}

/** The answer of one server-streaming call. */
export interface ServerStream {
  send(message: unknown): void;
  /** Ends the stream, with an error or without; later calls do nothing. */
  end(err?: unknown): void;
  /** Aborted when the client goes away or the stream ended. */
  readonly signal: AbortSignal;
}

/**
 * A server-streaming method: `open` may throw before anything is sent (the stream then holds only
 * the error, as Connect answers), and feeds the stream until it ends it or the client leaves.
 */
export function serverStreaming(
  app: FastifyInstance,
  path: string,
  open: (msg: Message, req: FastifyRequest, stream: ServerStream) => Promise<void>,
): void {
  app.post(path, async (req, reply) => {
    const out = passThrough();
    const abort = new AbortController();
    let ended = false;
    reply.raw.once('close', () => abort.abort());
    const stream: ServerStream = {
      send(message) {
        if (!ended) out.write(envelope(message));
      },
      end(err) {
        if (ended) return;
        ended = true;
        const e = err === undefined ? undefined : envdCode(err);
        out.end(envelope(e ? { error: { code: e.code, message: e.message } } : {}, END_STREAM));
        abort.abort();
      },
      signal: abort.signal,
    };
    reply.code(200).type('application/connect+json');
    try {
      void open(firstEnvelope(req.body), req, stream).catch((e: unknown) => stream.end(e));
    } catch (e) {
      stream.end(e);
    }
    return reply.send(out);
  });
}

/**
 * Connect bodies arrive as bytes (parsed by each handler); uploads as streams. Registered in the
 * handlers' own plugin scope, so the manager's other parsers are untouched.
 */
export function installParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    ['application/json', 'application/connect+json'],
    { parseAs: 'buffer', bodyLimit: MAX_MESSAGE },
    (_req, body, done) => done(null, body),
  );
  app.addContentTypeParser(['multipart/form-data', 'application/octet-stream'], (_req, payload, done) =>
    done(null, payload),
  );
}
