import type { FastifyRequest } from 'fastify';
import type { Vm } from '@hearth/contract';

/** What an envd handler gets: the sandbox's VM, checked against its access token. Throws an EnvdError (Connect-shaped) when the sandbox is unknown or the token is missing/wrong. */
export type ResolveSandbox = (req: FastifyRequest) => Promise<Vm>;

export class EnvdError extends Error {
  constructor(
    readonly code:
      | 'not_found'
      | 'permission_denied'
      | 'unauthenticated'
      | 'invalid_argument'
      | 'internal'
      | 'failed_precondition'
      | 'already_exists'
      | 'resource_exhausted'
      | 'deadline_exceeded'
      | 'unavailable',
    message: string,
  ) {
    super(message);
  }
}

/** HTTP status of each Connect code (Connect protocol spec). */
export const connectStatus: Record<EnvdError['code'], number> = {
  invalid_argument: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  already_exists: 409,
  failed_precondition: 400,
  resource_exhausted: 429,
  internal: 500,
  unavailable: 503,
  deadline_exceeded: 504,
};
