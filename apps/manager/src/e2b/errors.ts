import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HearthError } from '@hearth/contract';

/** An error of E2B's control-plane API: the body is `{code: <HTTP status>, message}`. */
export class E2bError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (id: string) => new E2bError(404, `sandbox "${id}" not found`);

/** E2B's shape for every failure of the control routes: the SDK reads `code` from the body. */
export function e2bErrorHandler(
  this: FastifyInstance,
  err: Error & { statusCode?: number },
  req: FastifyRequest,
  reply: FastifyReply,
): void {
  let status: number;
  let message: string;
  if (err instanceof E2bError || err instanceof HearthError) {
    status = err.status;
    message = err.message;
  } else if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    status = err.statusCode;
    message = err.message;
  } else {
    req.log.error({ err }, 'e2b: unhandled error');
    status = 500;
    message = 'the server failed to handle the request';
  }
  if (status >= 500) req.log.warn({ status, msg: message }, 'e2b request failed');
  void reply.code(status).type('application/json').send({ code: status, message });
}
