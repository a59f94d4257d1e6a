import type { FastifyInstance } from 'fastify';
import { HearthError, parseDuration, PROJECT_ROLES, routes, type ProjectRole } from '@hearth/contract';
import { serve } from '../http.ts';
import type { AppServices } from '../app.ts';
import type { Principal } from '../auth/principal.ts';

type Ceiling = ProjectRole | 'admin';

/** A platform administrator whose credential is not capped below administration. */
function fullAdmin(p: Principal): boolean {
  return p.admin && (p.ceiling === null || p.ceiling === 'admin');
}

/** `a` is no more than `b` (viewer < operator < owner < admin). */
function within(a: Ceiling, b: Ceiling): boolean {
  const order = [...PROJECT_ROLES, 'admin'];
  return order.indexOf(a) <= order.indexOf(b);
}

/**
 * API tokens: everyone manages their own; administrators list and revoke anyone's, the bootstrap
 * admin token included. A new token never reaches further than its creator: its project must be
 * one the creator belongs to (and the creating token's scope, if any), its ceiling no higher than
 * the creator's (only administrators may create `admin` tokens).
 */
export function tokenRoutes(app: FastifyInstance, { stores, auth }: AppServices): void {
  serve(app, auth, routes.listTokens, async ({ query, principal }) => {
    const page = { limit: query.limit, cursor: query.cursor };
    if (query.all === 'true') {
      await auth.check(principal, 'admin', '');
      return stores.tokens.list(page, { all: true });
    }
    if (query.user !== undefined) {
      const user = await stores.users.get(query.user);
      const self = user !== null && user.id === principal.userId;
      if (!self) await auth.check(principal, 'admin', '');
      if (!user) {
        throw new HearthError('USER_NOT_FOUND', `Finding user "${query.user}" failed: no such user.`);
      }
      return stores.tokens.list(page, { userId: user.id });
    }
    return stores.tokens.list(page, principal.userId ? { userId: principal.userId } : { bootstrap: true });
  });

  serve(app, auth, routes.createToken, async ({ body, principal }) => {
    if (!principal.userId) {
      throw new HearthError(
        'FORBIDDEN',
        'Creating a token failed: the bootstrap admin token has no user to own one; create a user and sign in as them.',
      );
    }
    const role: Ceiling | null = body.role ?? principal.ceiling;
    if (role !== null) {
      if (role === 'admin' && !principal.admin) {
        throw new HearthError(
          'TOKEN_SCOPE_EXCEEDED',
          'Creating a token failed: only platform administrators may create admin tokens.',
        );
      }
      if (principal.ceiling !== null && !within(role, principal.ceiling)) {
        throw new HearthError(
          'TOKEN_SCOPE_EXCEEDED',
          `Creating a token failed: the role ${role} is above this token's ceiling (${principal.ceiling}).`,
        );
      }
    }
    const project = body.project ?? principal.scope;
    if (project !== null) {
      if (principal.scope !== null && project !== principal.scope) {
        throw new HearthError(
          'TOKEN_SCOPE_EXCEEDED',
          `Creating a token failed: this token acts in project "${principal.scope}" only, not "${project}".`,
        );
      }
      // Missing and not-a-member read the same, so a project's existence does not leak.
      await auth.roleIn(principal, project);
    }
    const expiresAt = body.expiresIn ? new Date(Date.now() + parseDuration(body.expiresIn)!) : null;
    const { id, token } = await stores.tokens.createForUser(principal.userId, {
      name: body.name,
      expiresAt,
      role,
      project,
      format: body.format,
    });
    const created = await stores.tokens.get(id);
    return { ...created!, token };
  });

  serve(app, auth, routes.deleteToken, async ({ params, principal }) => {
    // `current` is the token this request came with (`hearth logout` knows its secret, not its id).
    const id = params.id === 'current' ? principal.tokenId : params.id;
    const token = id ? await stores.tokens.get(id) : null;
    const own =
      token !== null &&
      (token.kind === 'admin' ? principal.kind === 'admin' : token.userId === principal.userId);
    // Someone else's token reads as missing unless the caller administers the platform.
    if (!token || (!own && !fullAdmin(principal))) {
      throw new HearthError('TOKEN_NOT_FOUND', `Finding token "${params.id}" failed: no such token.`);
    }
    await stores.tokens.revoke(token.id);
  });
}
