import type { FastifyRequest } from 'fastify';
import type { RouteRole } from '@hearth/contract';
import type { Authority } from '../auth/authority.ts';
import { actorOf, type Principal } from '../auth/principal.ts';
import type { Stores } from '../store/index.ts';
import { E2bError } from './errors.ts';

export interface E2bCaller {
  principal: Principal;
  actor: string;
  project: string;
}

/**
 * The caller of a control route: `X-API-KEY` (what the SDK sends) or a bearer token, either a
 * Hearth API token (the bootstrap admin token too; `e2b_…` keys are user tokens of that shape).
 * The project is the key's scope, else `X-Hearth-Project`, else the user's default.
 */
export async function e2bCaller(
  req: FastifyRequest,
  deps: { auth: Authority; stores: Pick<Stores, 'tokens'> },
  needed: RouteRole,
): Promise<E2bCaller> {
  const header = req.headers['x-api-key'];
  const bearer = req.headers.authorization?.startsWith('Bearer ')
    ? req.headers.authorization.slice(7).trim()
    : null;
  const key = (typeof header === 'string' && header ? header : null) ?? bearer;
  if (!key) throw new E2bError(401, 'no API key was sent (X-API-KEY)');
  const checked = await deps.stores.tokens.check(key, null);
  const principal = checked.principal;
  if (!principal || (principal.kind !== 'admin' && principal.kind !== 'user')) {
    throw new E2bError(401, checked.refusal === 'expired' ? 'the API key has expired' : 'invalid API key');
  }
  const project = deps.auth.projectOf(req, principal);
  try {
    await deps.auth.check(principal, needed, project);
  } catch (e) {
    throw new E2bError(403, (e as Error).message);
  }
  return { principal, actor: actorOf(principal), project };
}
