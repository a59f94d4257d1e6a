import { HearthError, routes } from '@hearth/contract';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppServices } from '../app.ts';
import { serve } from '../http.ts';
import { DEFAULT_SESSION_TTL_MS, type Oidc } from '../auth/oidc.ts';
import { PENDING_TTL_MS } from '../auth/oidc-pending.ts';
import { setSessionCookie } from '../auth/session-cookie.ts';

/**
 * Binds a sign-in to the browser that started it: the callback must come with this cookie
 * holding its state, so a callback URL made by someone else (login CSRF) signs nobody in.
 */
export const OIDC_FLOW_COOKIE = 'hearth_oidc';
const FLOW_COOKIE_PATH = '/v1/auth/oidc';

/** Where a browser lands when a sign-in fails: the dashboard shows the code. */
export const signInErrorUrl = (code: string) => `/?signin_error=${encodeURIComponent(code)}`;

/**
 * `returnTo` as a path on this site, or a refusal: an absolute or scheme-relative URL
 * (`https://x`, `//x`, `/\x`) would make the callback an open redirect.
 */
export function safeReturnTo(returnTo: string | undefined): string {
  if (returnTo === undefined || returnTo === '') return '/';
  const refuse = () =>
    new HearthError('VALIDATION_FAILED', 'Validating the request query failed: "returnTo" must be a path.', {
      fields: { returnTo: ['must be a path on this site starting with one "/" (not a URL)'] },
    });
  // eslint-disable-next-line no-control-regex
  if (!returnTo.startsWith('/') || /[\\\u0000-\u001f\u007f]/.test(returnTo)) throw refuse();
  const base = 'http://hearth.invalid';
  const u = new URL(returnTo, base);
  const path = `${u.pathname}${u.search}${u.hash}`;
  // Dot segments can fold `/.//x` into `//x`: the result is checked, not only the input.
  if (u.origin !== base || returnTo.startsWith('//') || path.startsWith('//')) throw refuse();
  return path;
}

/** A page load (the provider's redirect, a sign-in button) rather than an API call. */
function fromBrowser(req: FastifyRequest): boolean {
  return (req.headers.accept ?? '').includes('text/html');
}

function requireOidc(oidc: Oidc | null | undefined): Oidc {
  if (!oidc) {
    throw new HearthError('OIDC_NOT_CONFIGURED', 'Single sign-on is not configured on this manager.');
  }
  return oidc;
}

/**
 * A failed sign-in: browsers are sent back to the dashboard with the code in `signin_error`
 * (an error document would strand them on the callback URL); API clients get the envelope.
 */
async function failed(req: FastifyRequest, reply: FastifyReply, e: unknown): Promise<FastifyReply> {
  if (!(e instanceof HearthError) || !fromBrowser(req)) throw e;
  req.log.info({ code: e.code, msg: e.message }, 'single sign-on refused');
  return reply.redirect(signInErrorUrl(e.code), 302);
}

function flowCookie(req: FastifyRequest) {
  return {
    httpOnly: true,
    // Lax: the provider's redirect back is a top-level GET, which carries Lax cookies.
    sameSite: 'lax' as const,
    path: FLOW_COOKIE_PATH,
    secure: req.protocol === 'https',
  };
}

export function oidcRoutes(
  app: FastifyInstance,
  deps: Pick<AppServices, 'auth' | 'stores' | 'oidc' | 'sessionTtlMs'>,
): void {
  serve(app, deps.auth, routes.oidcStart, async ({ query, req, reply }) => {
    try {
      const oidc = requireOidc(deps.oidc);
      const returnTo = safeReturnTo(query.returnTo);
      const { url, state } = await oidc.start(returnTo);
      reply.setCookie(OIDC_FLOW_COOKIE, state, { ...flowCookie(req), maxAge: PENDING_TTL_MS / 1000 });
      return reply.redirect(url, 302);
    } catch (e) {
      return failed(req, reply, e);
    }
  });

  serve(app, deps.auth, routes.oidcCallback, async ({ query, req, reply }) => {
    try {
      const oidc = requireOidc(deps.oidc);
      const browserState = req.cookies?.[OIDC_FLOW_COOKIE] ?? null;
      reply.clearCookie(OIDC_FLOW_COOKIE, flowCookie(req));
      const { user, returnTo } = await oidc.finish(query, browserState);
      const session = await deps.stores.sessions.create(user.id, {
        ttlMs: deps.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS,
        source: req.ip,
        userAgent: req.headers['user-agent'] ?? null,
      });
      setSessionCookie(req, reply, session);
      req.log.info({ user: user.name }, 'signed in with single sign-on');
      return reply.redirect(returnTo, 302);
    } catch (e) {
      return failed(req, reply, e);
    }
  });
}
