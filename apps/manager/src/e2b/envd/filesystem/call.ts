import type { FastifyRequest } from 'fastify';
import { Guest, type EnvdFsDeps, type GuestUser } from './guest.ts';

const ROOT: GuestUser = { name: 'root', uid: 0, gid: 0, home: '/root' };

/** The username of a call: envd's RPCs carry it as HTTP Basic `user:` (no password). */
export function basicUser(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (!h?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(h.slice(6), 'base64').toString('utf8');
  const name = decoded.split(':')[0];
  return name || undefined;
}

/** The guest and the user of one envd call. */
export interface CallContext {
  guest: Guest;
  user: GuestUser;
}

export async function callContext(
  deps: EnvdFsDeps,
  req: FastifyRequest,
  username: string | undefined,
): Promise<CallContext> {
  const guest = await Guest.of(deps, req);
  const name = username ?? deps.defaultUser ?? 'root';
  return { guest, user: name === 'root' ? ROOT : await guest.user(name) };
}
