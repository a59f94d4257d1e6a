import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HearthError, parseDuration, routes, type User } from '@hearth/contract';
import { serve } from '../http.ts';
import type { AppServices } from '../app.ts';
import type { UserRow } from '../store/users.ts';
import { verifyAgainstDummy, verifyPassword } from '../auth/passwords.ts';
import { signInLimits } from '../auth/rate-limit.ts';
import { DEFAULT_SESSION_POLICY } from '../auth/sessions.ts';
import { TICKET_TTL_MS } from '../auth/tickets.ts';
import { oidcPublicConfig } from '../auth/oidc.ts';
import { clearSessionCookie, setSessionCookie } from '../auth/session-cookie.ts';

function userView(u: UserRow): User {
  return {
    id: u.id,
    name: u.name,
    displayName: u.display_name,
    email: u.email,
    admin: u.admin,
    disabled: u.disabled,
    sso: u.oidc_subject !== null,
    hasPassword: u.password_hash !== null,
    createdAt: u.created_at.toISOString(),
    lastSignInAt: u.last_sign_in_at?.toISOString() ?? null,
  };
}

const invalid = () =>
  new HearthError('INVALID_CREDENTIALS', 'Signing in failed: the user name or password is wrong.');

/** Sign-in (session cookie or API token), sign-out, and tickets for WebSockets and the event stream. */
export function authRoutes(app: FastifyInstance, deps: AppServices): void {
  const { stores, auth, log } = deps;
  const policy = deps.sessionPolicy ?? DEFAULT_SESSION_POLICY;
  const limits = deps.signInLimits ?? signInLimits();
  const slog = log.child({ component: 'auth' });

  serve(app, auth, routes.authConfig, async () => ({ password: true, oidc: oidcPublicConfig(deps.oidc) }));

  /** Refuses while this user name or this address has failed too often; says for how long. */
  const checkLimits = (userKey: string, source: string) => {
    const wait = Math.max(limits.perUser.retryAfterS(userKey), limits.perSource.retryAfterS(source));
    if (wait > 0) {
      throw new HearthError(
        'TOO_MANY_SIGN_IN_ATTEMPTS',
        `Signing in failed: too many failed attempts for this user or address; try again in ${wait} s.`,
        { retryAfterS: wait },
      );
    }
  };

  const authenticate = async (req: FastifyRequest, username: string, password: string) => {
    const userKey = username.toLowerCase();
    const source = req.ip;
    checkLimits(userKey, source);
    const found = await stores.users.get(username);
    // Looked up by name only (not id); unknown users cost a hash too, so timing tells nothing.
    const user = found && found.name === username ? found : null;
    const ok = user?.password_hash
      ? await verifyPassword(password, user.password_hash)
      : await verifyAgainstDummy(password);
    if (!user || !ok) {
      limits.perUser.fail(userKey);
      limits.perSource.fail(source);
      slog.info({ user: username, source }, 'sign-in failed');
      throw invalid();
    }
    if (user.disabled) {
      slog.info({ user: username, source }, 'sign-in refused: user disabled');
      throw new HearthError('USER_DISABLED', `Signing in failed: user "${user.name}" is disabled.`);
    }
    limits.perUser.clear(userKey);
    await stores.users.touchSignIn(user.id);
    return { ...user, last_sign_in_at: new Date() };
  };

  serve(app, auth, routes.login, async ({ body, req, reply }) => {
    const user = await authenticate(req, body.username, body.password);
    if (body.issue === 'token') {
      const ms = body.expiresIn ? parseDuration(body.expiresIn) : null;
      const expiresAt = ms ? new Date(Date.now() + ms) : null;
      const { token } = await stores.tokens.createForUser(user.id, {
        name: body.tokenName ?? 'cli',
        expiresAt,
      });
      slog.info({ user: user.name, source: req.ip, issue: 'token' }, 'signed in');
      return { user: userView(user), expiresAt: expiresAt?.toISOString() ?? null, csrf: null, token };
    }
    const s = await stores.sessions.create(user.id, {
      ttlMs: policy.ttlMs,
      source: req.ip,
      userAgent: req.headers['user-agent'] ?? null,
    });
    setSessionCookie(req, reply, s);
    slog.info({ user: user.name, source: req.ip, issue: 'session', session: s.id }, 'signed in');
    return { user: userView(user), expiresAt: s.expiresAt.toISOString(), csrf: s.csrf, token: null };
  });

  serve(app, auth, routes.logout, async ({ principal, req, reply }) => {
    if (principal.via === 'session' && principal.sessionId) await stores.sessions.delete(principal.sessionId);
    clearSessionCookie(req, reply);
    return '';
  });

  serve(app, auth, routes.logoutEverywhere, async ({ principal, req, reply }) => {
    if (principal.userId) await stores.sessions.deleteForUser(principal.userId);
    clearSessionCookie(req, reply);
    return '';
  });

  serve(app, auth, routes.createTicket, async ({ principal }) => {
    const t = await stores.tickets.create(principal, TICKET_TTL_MS);
    return { ticket: t.ticket, expiresAt: t.expiresAt.toISOString() };
  });
}
