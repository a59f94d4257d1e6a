import type { FastifyReply, FastifyRequest } from 'fastify';
import type { NewSession } from '../store/sessions.ts';

/** The browser session's cookie: HTTP-only (no script reads it), SameSite=Lax, the whole site. */
export const SESSION_COOKIE = 'hearth_session';

/** Secure cookies only over HTTPS (a plain-HTTP manager on a LAN would never get them back). */
function secure(req: FastifyRequest): boolean {
  return req.protocol === 'https';
}

export function setSessionCookie(req: FastifyRequest, reply: FastifyReply, s: NewSession): void {
  reply.setCookie(SESSION_COOKIE, s.secret, {
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    secure: secure(req),
    expires: s.expiresAt,
  });
}

export function clearSessionCookie(req: FastifyRequest, reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'lax', path: '/', secure: secure(req) });
}

export function sessionSecretOf(req: FastifyRequest): string | null {
  const v = req.cookies?.[SESSION_COOKIE];
  return typeof v === 'string' && v ? v : null;
}
