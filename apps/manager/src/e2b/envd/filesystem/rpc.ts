import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  serverStreaming as connectServerStreaming,
  unary as connectUnary,
  type ServerStream,
} from '../connect.ts';
import { envdCode } from './guest.ts';

// The filesystem service speaks the same Connect framing as the process service (../connect.ts);
// only its error mapping differs: the guest agent's file errors become Connect's codes.

/** Requests are small JSON messages (paths, flags). */
const MAX_MESSAGE = 1024 * 1024;

export type Message = Record<string, unknown>;

export function unary(
  app: FastifyInstance,
  path: string,
  handler: (msg: Message, req: FastifyRequest) => Promise<unknown>,
): void {
  connectUnary(app, path, handler, envdCode);
}

export function serverStreaming(
  app: FastifyInstance,
  path: string,
  open: (msg: Message, req: FastifyRequest, stream: ServerStream) => Promise<void>,
): void {
  connectServerStreaming(app, path, open, envdCode);
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
