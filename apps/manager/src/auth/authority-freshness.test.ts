import { afterEach, expect, it, vi } from 'vitest';
import { describeOnBackends, useApiPlatform } from '../../../../test/helpers/api-harness.ts';
import { makeUser } from '../../../../test/helpers/identity.ts';

// The caller's role is read in the same query as its credential: these pin down that nothing of
// it outlives the request that read it (revocations, removals and disabling act at once).
describeOnBackends('authorization reads', (db) => {
  const api = useApiPlatform({ db });
  const call = (method: string, url: string, headers: Record<string, string>, payload?: unknown) =>
    api.p.manager.app.inject({ method, url, headers, payload } as never);
  afterEach(() => vi.restoreAllMocks());

  it('reads the role with the token, not in a second query', async () => {
    const u = await makeUser(api.p.manager.stores, { roles: { 'fresh-a': 'viewer' } });
    const roleOf = vi.spyOn(api.p.manager.stores.projects, 'roleOf');
    expect((await call('GET', '/v1/vms', u.headers('fresh-a'))).statusCode).toBe(200);
    expect((await call('GET', '/v1/vms?project=fresh-a', u.headers())).statusCode).toBe(200);
    // Naming none: the user's default project (their only one).
    expect((await call('GET', '/v1/vms', u.headers())).statusCode).toBe(200);
    expect(roleOf).not.toHaveBeenCalled();
  });

  it('checks the project a body names, not the one read with the token', async () => {
    const u = await makeUser(api.p.manager.stores, { roles: { default: 'owner', 'fresh-b': 'viewer' } });
    await api.p.manager.stores.projects.create(`fresh-c-${db}`);
    const elsewhere = await call('POST', '/v1/vms', u.headers(), { project: `fresh-c-${db}`, start: false });
    expect(elsewhere.json().error.code).toBe('PROJECT_NOT_FOUND');
    const viewer = await call('POST', '/v1/vms', u.headers(), { project: 'fresh-b', start: false });
    expect(viewer.json().error.code).toBe('ROLE_REQUIRED');
  });

  it('refuses a removed member, a disabled user and a revoked token on their next request', async () => {
    const { stores } = api.p.manager;
    const u = await makeUser(stores, { roles: { 'fresh-d': 'operator', 'fresh-e': 'viewer' } });
    expect((await call('GET', '/v1/vms', u.headers('fresh-d'))).statusCode).toBe(200);
    await stores.projects.removeMember('fresh-d', u.id, u.name);
    const removed = await call('GET', '/v1/vms', u.headers('fresh-d'));
    expect(removed.json().error.code).toBe('PROJECT_NOT_FOUND');

    expect((await call('GET', '/v1/vms', u.headers('fresh-e'))).statusCode).toBe(200);
    await stores.users.patch(u.id, { disabled: true });
    expect((await call('GET', '/v1/vms', u.headers('fresh-e'))).json().error.code).toBe('USER_DISABLED');
    await stores.users.patch(u.id, { disabled: false });

    const created = await call('POST', '/v1/tokens', u.headers('fresh-e'), { name: 'short-lived' });
    const { id, token } = created.json() as { id: string; token: string };
    const bearer = { authorization: `Bearer ${token}`, 'x-hearth-project': 'fresh-e' };
    expect((await call('GET', '/v1/vms', bearer)).statusCode).toBe(200);
    expect((await call('DELETE', `/v1/tokens/${id}`, u.headers('fresh-e'))).statusCode).toBeLessThan(300);
    expect((await call('GET', '/v1/vms', bearer)).json().error.code).toBe('UNAUTHENTICATED');
  });
});
