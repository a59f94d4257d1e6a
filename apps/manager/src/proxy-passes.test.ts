import { expect, it } from 'vitest';
import { describeOnBackends, useApiPlatform } from '../../../test/helpers/api-harness.ts';
import { makeUser } from '../../../test/helpers/identity.ts';
import { SESSION_COOKIE } from './auth/session-cookie.ts';

// Proxy passes: who may make one, and that one stops working as soon as the credential or role it
// was made with goes. The VMs here never run (API tests boot nothing), so a pass that is accepted
// is answered VM_NOT_RUNNING by the proxy behind it, and one that is not PROXY_PASS_INVALID.
describeOnBackends('proxy passes', (db) => {
  const api = useApiPlatform({ db });
  const call = (method: string, url: string, headers: Record<string, string> = {}, payload?: unknown) =>
    api.p.manager.app.inject({ method, url, headers, payload } as never);
  const codeOf = async (path: string) => {
    const r = await call('GET', `${path}index.html`);
    return r.statusCode === 200 ? 'ok' : (r.json() as { error: { code: string } }).error.code;
  };
  const vmIn = async (project: string, name: string) => {
    const r = await api.inject({
      method: 'POST',
      url: '/v1/vms',
      payload: { project, name, start: false },
    });
    expect(r.statusCode).toBe(201);
    return (r.json() as { id: string }).id;
  };

  it('an operator gets a pass for one port; the pass alone opens it, for an hour by default', async () => {
    const u = await makeUser(api.p.manager.stores, { roles: { [`pp-a-${db}`]: 'operator' } });
    const id = await vmIn(`pp-a-${db}`, 'web');
    const made = await call('POST', `/v1/vms/${id}/proxy-passes`, u.headers(`pp-a-${db}`), { port: 8080 });
    expect(made.statusCode).toBe(201);
    const pass = made.json() as { path: string; vmId: string; port: number; expiresAt: string };
    expect(pass.path).toMatch(/^\/v1\/proxy-passes\/hth_pxy_[A-Za-z0-9_-]+\/$/);
    expect(pass).toMatchObject({ vmId: id, port: 8080 });
    const ttl = Date.parse(pass.expiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(3500_000);
    expect(ttl).toBeLessThanOrEqual(3600_000);
    // No credential with the request: the pass is the credential.
    expect(await codeOf(pass.path)).toBe('VM_NOT_RUNNING');
    // Without the slash, the app's root gets it (its relative links then keep the pass).
    const bare = await call('GET', pass.path.slice(0, -1) + '?a=b');
    expect(bare.statusCode).toBe(308);
    expect(bare.headers.location).toBe(`${pass.path}?a=b`);
    expect(await codeOf('/v1/proxy-passes/hth_pxy_not-a-pass/')).toBe('PROXY_PASS_INVALID');
  });

  it('refuses a viewer, a bad port and a TTL past the limit', async () => {
    const project = `pp-b-${db}`;
    const u = await makeUser(api.p.manager.stores, { roles: { [project]: 'viewer' } });
    const id = await vmIn(project, 'web');
    const viewer = await call('POST', `/v1/vms/${id}/proxy-passes`, u.headers(project), { port: 80 });
    expect(viewer.json().error.code).toBe('ROLE_REQUIRED');
    for (const body of [{ port: 0 }, { port: 80, ttlSeconds: 13 * 3600 }, { port: 80, extra: 1 }]) {
      const r = await api.inject({
        method: 'POST',
        url: `/v1/vms/${id}/proxy-passes?project=${project}`,
        payload: body,
      });
      expect(r.statusCode).toBe(400);
      expect(r.json().error.code).toBe('VALIDATION_FAILED');
    }
    const none = await api.inject({
      method: 'POST',
      url: `/v1/vms/nope/proxy-passes`,
      payload: { port: 80 },
    });
    expect(none.json().error.code).toBe('VM_NOT_FOUND');
  });

  it('stops working when its maker leaves the project, is disabled, or signs out', async () => {
    const { stores } = api.p.manager;
    const project = `pp-c-${db}`;
    const u = await makeUser(stores, { roles: { [project]: 'operator' } });
    const id = await vmIn(project, 'web');
    const passFor = async (headers: Record<string, string>) => {
      const r = await call('POST', `/v1/vms/${id}/proxy-passes`, headers, { port: 80 });
      expect(r.statusCode).toBe(201);
      return (r.json() as { path: string }).path;
    };

    const byToken = await passFor(u.headers(project));
    expect(await codeOf(byToken)).toBe('VM_NOT_RUNNING');
    await stores.users.patch(u.id, { disabled: true });
    expect(await codeOf(byToken)).toBe('PROXY_PASS_INVALID');
    await stores.users.patch(u.id, { disabled: false });
    expect(await codeOf(byToken)).toBe('VM_NOT_RUNNING');
    await stores.projects.removeMember(project, u.id, u.name);
    expect(await codeOf(byToken)).toBe('PROXY_PASS_INVALID');
    await stores.projects.setMember(project, u.id, 'operator');

    // A browser session's pass: it ends with the session.
    const s = await stores.sessions.create(u.id, { ttlMs: 3600_000 });
    const cookie = {
      cookie: `${SESSION_COOKIE}=${s.secret}`,
      'x-csrf-token': s.csrf,
      'x-hearth-project': project,
    };
    const bySession = await passFor(cookie);
    expect(await codeOf(bySession)).toBe('VM_NOT_RUNNING');
    await stores.sessions.delete(s.id);
    expect(await codeOf(bySession)).toBe('PROXY_PASS_INVALID');
    expect(await codeOf(byToken)).toBe('VM_NOT_RUNNING');
  });
});
