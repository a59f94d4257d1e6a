import { parseDuration } from '@hearth/contract';
import type { FastifyRequest } from 'fastify';
import type { Stores } from '../store/index.ts';
import type { CredentialReader } from './authority.ts';
import { sessionSecretOf } from './session-cookie.ts';

export interface SessionPolicy {
  /** A session ends this long after sign-in, however active. */
  ttlMs: number;
  /** A session unused for this long ends. */
  idleMs: number;
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = { ttlMs: 7 * 86_400_000, idleMs: 12 * 3_600_000 };

/** The policy from settings, else HEARTH_SESSION_TTL / HEARTH_SESSION_IDLE (`7d`, `12h`), else the defaults. */
export function sessionPolicy(
  cfg: { sessionTtlMs?: number; sessionIdleMs?: number },
  env: NodeJS.ProcessEnv = process.env,
): SessionPolicy {
  const fromEnv = (name: string): number | undefined => {
    const v = env[name];
    if (!v) return undefined;
    const ms = parseDuration(v);
    if (ms === null || ms <= 0) throw new Error(`${name} must be a duration such as 12h or 7d, not "${v}"`);
    return ms;
  };
  return {
    ttlMs: cfg.sessionTtlMs ?? fromEnv('HEARTH_SESSION_TTL') ?? DEFAULT_SESSION_POLICY.ttlMs,
    idleMs: cfg.sessionIdleMs ?? fromEnv('HEARTH_SESSION_IDLE') ?? DEFAULT_SESSION_POLICY.idleMs,
  };
}

/**
 * A cookie sent with a request another site started is not the user's intent. SameSite=Lax
 * keeps it off cross-site requests, but another port of the same host is the same site, and
 * WebSockets have no CORS: a browser's `Origin` naming a different host means the cookie is ignored.
 */
function sameOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (!origin) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/** Authenticates by the session cookie (registered on the Authority after bearer tokens). */
export function sessionReader(stores: Pick<Stores, 'sessions'>, policy: SessionPolicy): CredentialReader {
  return async (req, project) => {
    const secret = sessionSecretOf(req);
    if (!secret || !sameOrigin(req)) return null;
    return stores.sessions.verify(secret, policy.idleMs, project);
  };
}
