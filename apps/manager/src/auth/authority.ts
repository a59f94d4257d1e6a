import {
  HearthError,
  Name,
  validationError,
  roleAtLeast,
  roleOf,
  type ProjectRole,
  type RouteDef,
  type RouteRole,
} from '@hearth/contract';
import type { FastifyRequest } from 'fastify';
import type { Stores } from '../store/index.ts';
import { ANONYMOUS, takePrefetchedRole, type Principal } from './principal.ts';
import { invalidJoinToken } from '../store/join-tokens.ts';
import { sessionSecretOf } from './session-cookie.ts';

/** Where a request says which project it acts in, before falling back to the caller's default. */
export const PROJECT_HEADER = 'x-hearth-project';
export const DEFAULT_PROJECT = 'default';
export const CSRF_HEADER = 'x-csrf-token';

/**
 * A credential reader besides bearer tokens (session cookie, WebSocket ticket). `project`: the
 * project the request names before its body, for a reader that reads the caller's role with the
 * credential (see `notePrefetchedRole`).
 */
export type CredentialReader = (req: FastifyRequest, project: string | null) => Promise<Principal | null>;

/**
 * Authentication and authorization for every route, HTTP and WebSocket, in one place: who the
 * caller is (bearer token, session cookie or ticket), which project the request acts in, and
 * whether the caller's role there (capped by a token's ceiling and scope) covers the route.
 */
export class Authority {
  private readonly readers: CredentialReader[] = [];

  constructor(private readonly stores: Pick<Stores, 'tokens' | 'projects' | 'joinTokens'>) {}

  /** Adds a way to authenticate (tried after the bearer token, in the order added). */
  addReader(reader: CredentialReader): void {
    this.readers.push(reader);
  }

  async authenticate(req: FastifyRequest, route: RouteDef): Promise<Principal> {
    const header = req.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : null;
    const named = namedProject(req, route);
    const checked = token ? await this.stores.tokens.check(token, named) : null;
    let principal = checked?.principal ?? null;
    if (!token) {
      for (const read of this.readers) {
        principal = await read(req, named);
        if (principal) break;
      }
    }
    if (route.auth === 'none') return principal ?? ANONYMOUS;
    if (route.auth === 'join') {
      // A registered host re-registers with its own agent credential; a new one with a join token.
      if (principal?.kind === 'agent') return principal;
      const why = token
        ? await this.stores.joinTokens.check(token)
        : 'no join token (or host credential) was sent';
      if (why || !principal || principal.kind !== 'join') throw invalidJoinToken(why ?? 'it expired');
      return principal;
    }
    if (checked?.refusal === 'expired') {
      throw new HearthError('TOKEN_EXPIRED', 'Authenticating failed: the token has expired.');
    }
    if (checked?.refusal === 'disabled') {
      throw new HearthError('USER_DISABLED', "Authenticating failed: the token's user is disabled.");
    }
    if ((!principal || principal.kind === 'anonymous') && !token && sessionSecretOf(req)) {
      // The browser still holds a cookie the manager no longer honours: say so, so the
      // dashboard can ask for a new sign-in instead of reporting a missing credential.
      throw new HearthError(
        'SESSION_EXPIRED',
        'Authenticating failed: the session has ended (signed out, expired, or idle too long).',
      );
    }
    if (!principal || principal.kind === 'anonymous') {
      throw new HearthError(
        'UNAUTHENTICATED',
        token
          ? 'Authenticating failed: the token is not valid.'
          : 'Authenticating failed: no bearer token, session or ticket was sent.',
      );
    }
    const isUser = principal.kind === 'admin' || principal.kind === 'user';
    if (route.auth === 'agent' && principal.kind !== 'agent') {
      throw new HearthError('FORBIDDEN', 'This route is for host agents only.');
    }
    if (route.auth === 'user-or-agent' && !isUser && principal.kind !== 'agent') {
      throw new HearthError('FORBIDDEN', 'This route needs a user or agent token.');
    }
    if (route.auth === 'user' && !isUser) {
      throw new HearthError('FORBIDDEN', 'This route needs a user credential, not an agent or join token.');
    }
    return principal;
  }

  /** Cookie-authenticated writes must echo the session's CSRF secret in a header. */
  checkCsrf(req: FastifyRequest, principal: Principal): void {
    if (principal.via !== 'session' || req.method === 'GET' || req.method === 'HEAD') return;
    if (!principal.csrf || req.headers[CSRF_HEADER] !== principal.csrf) {
      throw new HearthError(
        'CSRF_FAILED',
        `Checking the request failed: a write with a session cookie needs the ${CSRF_HEADER} header.`,
      );
    }
  }

  /**
   * The project a request acts in: the `X-Hearth-Project` header, else a `project` query
   * parameter or body field, else the token's scope or the user's default project, else `default`.
   */
  projectOf(req: FastifyRequest, principal: Principal, route?: RouteDef): string {
    if (route?.projectParam) {
      const named = (req.params as Record<string, string>)[route.projectParam] ?? '';
      checkName(named);
      return named;
    }
    const header = req.headers[PROJECT_HEADER];
    const fromHeader = typeof header === 'string' && header ? header : null;
    const q = (req.query ?? {}) as Record<string, unknown>;
    const b = (req.body ?? {}) as Record<string, unknown>;
    const fromQuery = typeof q.project === 'string' && q.project ? q.project : null;
    const fromBody =
      !route?.bodyProjectIsData &&
      b &&
      typeof b === 'object' &&
      !Buffer.isBuffer(b) &&
      typeof b.project === 'string' &&
      b.project
        ? b.project
        : null;
    const named = [fromHeader, fromQuery, fromBody].filter((p): p is string => p !== null);
    if (new Set(named).size > 1) {
      throw new HearthError(
        'VALIDATION_FAILED',
        `Validating the request failed: it names two projects (${[...new Set(named)].join(', ')}).`,
        { fields: { project: ['the header, query and body must name the same project'] } },
      );
    }
    named.forEach(checkName);
    return named[0] ?? principal.scope ?? principal.defaultProject ?? DEFAULT_PROJECT;
  }

  /**
   * Refuses unless the caller may call `routeId` in `project`. Agents pass only the routes
   * built for them (authentication already checked that).
   */
  async authorize(
    principal: Principal,
    route: RouteDef,
    routeId: string,
    project: string,
  ): Promise<ProjectRole | null> {
    if (route.auth === 'none' || principal.kind === 'agent' || principal.kind === 'join') return null;
    const needed = roleOf(routeId);
    if (!needed) throw new Error(`route ${routeId} has no entry in routeRoles`);
    return this.check(principal, needed, project);
  }

  /** The role check itself, for routes and for finer checks inside one (console input). */
  async check(principal: Principal, needed: RouteRole, project: string): Promise<ProjectRole | null> {
    if (needed === 'signed-in') return null;
    if (needed === 'admin') {
      if (!principal.admin) {
        throw new HearthError('ADMIN_REQUIRED', 'This needs a platform administrator.');
      }
      if (principal.ceiling !== null && principal.ceiling !== 'admin') {
        throw new HearthError(
          'TOKEN_SCOPE_EXCEEDED',
          `This needs administration; the token is limited to ${principal.ceiling}.`,
        );
      }
      return null;
    }
    if (principal.scope !== null && principal.scope !== project) {
      throw new HearthError(
        'TOKEN_SCOPE_EXCEEDED',
        `The token acts in project "${principal.scope}" only, not "${project}".`,
      );
    }
    const held = await this.roleIn(principal, project);
    if (!roleAtLeast(held, needed)) {
      throw new HearthError('ROLE_REQUIRED', `This needs the ${needed} role in project "${project}".`, {
        detail: { needed, held, project },
      });
    }
    const capped = capRole(held, principal.ceiling);
    if (!roleAtLeast(capped, needed)) {
      throw new HearthError(
        'TOKEN_SCOPE_EXCEEDED',
        `This needs the ${needed} role in project "${project}"; the token is limited to ${principal.ceiling}.`,
        { detail: { needed, ceiling: principal.ceiling, project } },
      );
    }
    return capped;
  }

  /**
   * The caller's role in a project (administrators own every project). A project the caller
   * is not a member of is reported as missing, so its existence does not leak.
   */
  async roleIn(principal: Principal, project: string): Promise<ProjectRole> {
    const found =
      takePrefetchedRole(principal, project) ??
      (await this.stores.projects.roleOf(project, principal.userId));
    if (!found.exists || (!principal.admin && !found.role)) {
      throw new HearthError('PROJECT_NOT_FOUND', `Finding project "${project}" failed: no such project.`);
    }
    return principal.admin ? 'owner' : found.role!;
  }
}

/**
 * The project a request names before its body is read (path parameter, header or query), when it
 * names one: a hint for reading the caller's role with the credential. `projectOf` decides.
 */
function namedProject(req: FastifyRequest, route: RouteDef): string | null {
  const header = req.headers[PROJECT_HEADER];
  const q = (req.query ?? {}) as Record<string, unknown>;
  const named = route.projectParam
    ? (req.params as Record<string, unknown> | undefined)?.[route.projectParam]
    : typeof header === 'string' && header
      ? header
      : q.project;
  // Only a valid name goes into the query; projectOf refuses the others once the body is read.
  return typeof named === 'string' && Name.safeParse(named).success ? named : null;
}

function checkName(project: string): void {
  const r = Name.safeParse(project);
  if (!r.success) {
    throw validationError(
      'the request project',
      r.error.issues.map((i) => ({ ...i, path: ['project'] })),
    );
  }
}

function capRole(held: ProjectRole, ceiling: Principal['ceiling']): ProjectRole {
  if (ceiling === null || ceiling === 'admin') return held;
  return roleAtLeast(held, ceiling) ? ceiling : held;
}
