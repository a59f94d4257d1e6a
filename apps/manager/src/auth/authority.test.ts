import { expect, it } from 'vitest';
import { describeOnBackends, useApiPlatform } from '../../../../test/helpers/api-harness.ts';
import { makeUser } from '../../../../test/helpers/identity.ts';

describeOnBackends('authorization', (db) => {
  const api = useApiPlatform({ db });
  const call = (method: string, url: string, headers: Record<string, string>, payload?: unknown) =>
    api.p.manager.app.inject({ method, url, headers, payload } as never);

  it('lets a viewer read and refuses its writes with ROLE_REQUIRED', async () => {
    const u = await makeUser(api.p.manager.stores, { roles: { default: 'viewer' } });
    expect((await call('GET', '/v1/vms', u.headers())).statusCode).toBe(200);
    const r = await call('POST', '/v1/vms', u.headers(), { start: false });
    expect(r.statusCode).toBe(403);
    expect(r.json().error.code).toBe('ROLE_REQUIRED');
    expect(r.json().error.detail).toMatchObject({ needed: 'operator', held: 'viewer' });
  });

  it('hides projects the caller is not a member of', async () => {
    const u = await makeUser(api.p.manager.stores, { roles: { 'authz-a': 'owner' } });
    await api.p.manager.stores.projects.create('authz-b');
    const r = await call('GET', '/v1/vms', u.headers('authz-b'));
    expect(r.statusCode).toBe(404);
    expect(r.json().error.code).toBe('PROJECT_NOT_FOUND');
    expect((await call('GET', '/v1/vms', u.headers('authz-a'))).statusCode).toBe(200);
  });

  it('caps a token at its ceiling and scope', async () => {
    const u = await makeUser(api.p.manager.stores, {
      roles: { default: 'owner', 'authz-c': 'owner' },
      token: { role: 'viewer', project: 'authz-c' },
    });
    expect((await call('GET', '/v1/vms', u.headers('authz-c'))).statusCode).toBe(200);
    const write = await call('POST', '/v1/vms', u.headers('authz-c'), { start: false });
    expect(write.json().error.code).toBe('TOKEN_SCOPE_EXCEEDED');
    const other = await call('GET', '/v1/vms', u.headers('default'));
    expect(other.json().error.code).toBe('TOKEN_SCOPE_EXCEEDED');
  });

  it('refuses expired tokens altogether', async () => {
    const old = await makeUser(api.p.manager.stores, {
      roles: { default: 'owner' },
      token: { expiresAt: new Date(Date.now() - 1000) },
    });
    expect((await call('GET', '/v1/vms', old.headers())).statusCode).toBe(401);
  });

  it("reads a token's scope in the body as data, not as the request's project", async () => {
    const u = await makeUser(api.p.manager.stores, { roles: { default: 'owner', 'authz-d': 'viewer' } });
    const r = await call('POST', '/v1/tokens', u.headers('default'), { name: 'ci', project: 'authz-d' });
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json()).toMatchObject({ project: 'authz-d' });
  });

  it('sends a user outside `default` to their own project when the request names none', async () => {
    const u = await makeUser(api.p.manager.stores, { roles: { 'authz-e': 'viewer' } });
    const list = await call('GET', '/v1/vms', u.headers());
    expect(list.statusCode, list.body).toBe(200);
    expect((await call('GET', '/v1/me', u.headers())).json().defaultProject).toBe('authz-e');
  });
});
