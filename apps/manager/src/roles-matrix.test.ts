import { beforeAll, expect, it } from 'vitest';
import {
  PROJECT_ROLES,
  roleAtLeast,
  roleOf,
  routes,
  userRouteIds,
  type ProjectRole,
  type RouteDef,
} from '@hearth/contract';
import { describeOnBackends, useApiPlatform } from '../../../test/helpers/api-harness.ts';
import { makeUser, type TestUser } from '../../../test/helpers/identity.ts';

/**
 * The role × route matrix, generated from the route table: every user route is called by each
 * kind of caller and the answer is compared with what `routeRoles` says. Requests are valid up to
 * authorization only (placeholder ids, a body with an unknown field): past it they fail
 * validation or find nothing, so nothing is changed; the test reads only whether authorization
 * let them through.
 */

/** The project the requests act in; `default` cannot be deleted, so deleteProject is harmless. */
const P = 'default';
const OTHER = 'matrix-other';
const MISSING = 'matrix-missing';

/**
 * Routes the sessions and audit work serves; until then they answer ROUTE_NOT_FOUND to everyone
 * (once served, the matrix checks them like any other route).
 */
const NOT_SERVED_HERE = new Set<string>([
  // Served by the app log pipeline (guestapp) and the registry credentials (images16) branches.
  'containerLogs',
  'putRegistryCredential',
  'listRegistryCredentials',
  'deleteRegistryCredential',
]);

type Persona = 'non-member' | ProjectRole | 'admin' | 'other-project token';
const PERSONAS: Persona[] = ['non-member', ...PROJECT_ROLES, 'admin', 'other-project token'];
type Outcome =
  | 'passed'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'ROLE_REQUIRED'
  | 'ADMIN_REQUIRED'
  | 'TOKEN_SCOPE_EXCEEDED'
  | 'PROJECT_NOT_FOUND'
  | 'ROUTE_NOT_FOUND';

/** What routeRoles says a persona gets on a route. */
function expected(routeId: string, who: Persona): Outcome {
  const needed = roleOf(routeId);
  if (needed === undefined) throw new Error(`${routeId} has no entry in routeRoles`);
  if (needed === 'signed-in') return 'passed';
  if (needed === 'admin') return who === 'admin' ? 'passed' : 'ADMIN_REQUIRED';
  if (who === 'admin') return 'passed';
  if (who === 'non-member') return 'PROJECT_NOT_FOUND';
  if (who === 'other-project token') return 'TOKEN_SCOPE_EXCEEDED';
  return roleAtLeast(who, needed) ? 'passed' : 'ROLE_REQUIRED';
}

/** Whether the request got past authorization, and if not, why. */
function outcome(status: number, body: string): Outcome {
  let err: { code?: string; message?: string } = {};
  try {
    err = (JSON.parse(body) as { error?: typeof err }).error ?? {};
  } catch {
    // Not JSON (a stream, a file): nothing refused it.
  }
  if (status === 401) return 'UNAUTHENTICATED';
  if (status === 403 && ['ROLE_REQUIRED', 'ADMIN_REQUIRED', 'TOKEN_SCOPE_EXCEEDED'].includes(err.code ?? ''))
    return err.code as Outcome;
  if (status === 403 && err.code === 'FORBIDDEN') return 'FORBIDDEN';
  if (err.code === 'PROJECT_NOT_FOUND' && err.message?.includes(`"${P}"`)) return 'PROJECT_NOT_FOUND';
  if (err.code === 'ROUTE_NOT_FOUND') return 'ROUTE_NOT_FOUND';
  return 'passed';
}

/** A request for the route: path parameters filled, an unknown query/body field to stop it after authorization. */
function probe(r: RouteDef, headers: Record<string, string>) {
  const path = r.path.replace(/:(\w+)/g, (_, name: string) => (name === r.projectParam ? P : MISSING));
  const query = r.query ? '?matrixProbe=1' : '';
  const raw = r.raw?.consumes !== undefined;
  return {
    method: r.method,
    url: path + query,
    headers: {
      ...headers,
      'x-hearth-project': P,
      ...(raw ? { 'content-type': 'application/octet-stream' } : {}),
    },
    ...(raw ? { payload: Buffer.from('x') } : r.body ? { payload: { matrixProbe: true } } : {}),
  };
}

describeOnBackends('role × route matrix', (db) => {
  const api = useApiPlatform({ db });
  const callers = new Map<Persona, TestUser>();

  beforeAll(async () => {
    const stores = api.p.manager.stores;
    callers.set('non-member', await makeUser(stores, { roles: { [OTHER]: 'owner' } }));
    for (const role of PROJECT_ROLES) callers.set(role, await makeUser(stores, { roles: { [P]: role } }));
    callers.set('admin', await makeUser(stores, { admin: true }));
    callers.set(
      'other-project token',
      await makeUser(stores, { roles: { [P]: 'owner', [OTHER]: 'owner' }, token: { project: OTHER } }),
    );
  });

  it('covers every user route, and routeRoles names a role for each', () => {
    const ids = userRouteIds();
    expect(ids.length).toBeGreaterThan(50);
    expect(ids.filter((id) => roleOf(id) === undefined)).toEqual([]);
  });

  for (const id of userRouteIds()) {
    const route = (routes as Record<string, RouteDef>)[id]!;
    it(`${id}: ${route.method} ${route.path} needs ${String(roleOf(id))}`, async () => {
      const got = new Map<Persona, Outcome>();
      for (const who of PERSONAS) {
        const r = await api.p.manager.app.inject(probe(route, callers.get(who)!.headers()) as never);
        got.set(who, outcome(r.statusCode, r.body));
      }
      if ([...got.values()].every((o) => o === 'ROUTE_NOT_FOUND')) {
        // Not served yet: allowed only for the routes another branch brings.
        expect(NOT_SERVED_HERE.has(id), `${id} is in the contract but no handler serves it`).toBe(true);
        return;
      }
      expect(Object.fromEntries(got)).toEqual(Object.fromEntries(PERSONAS.map((w) => [w, expected(id, w)])));
    });
  }
});
