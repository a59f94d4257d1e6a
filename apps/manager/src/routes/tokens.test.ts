import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { ApiToken } from '@hearth/contract';
import { describeOnBackends, useApiPlatform } from '../../../../test/helpers/api-harness.ts';
import { makeUser, type TestUser } from '../../../../test/helpers/identity.ts';
import { hashSecret } from '../store/tokens.ts';
import { startManager } from '../manager.ts';
import { testLog } from '../../../../test/helpers/platform.ts';

type Api = ReturnType<typeof useApiPlatform>;

function caller(api: Api) {
  const call = (method: string, url: string, headers: Record<string, string>, payload?: unknown) =>
    api.p.manager.app.inject({ method, url, headers, payload } as never);
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const listOf = async (u: TestUser | Record<string, string>, query = '') => {
    const r = await call('GET', `/v1/tokens${query}`, 'headers' in u ? (u as TestUser).headers() : u);
    expect(r.statusCode).toBe(200);
    return r.json().items as ApiToken[];
  };
  return { call, bearer, listOf };
}

describeOnBackends('API tokens', (db) => {
  const api = useApiPlatform({ db, host: null });
  const { call, bearer, listOf } = caller(api);
  const user = (opts: Parameters<typeof makeUser>[1] = {}) => makeUser(api.p.manager.stores, opts);

  it('shows a new token once, stores only its hash, and lists it with its last use', async () => {
    const u = await user({ roles: { default: 'operator' } });
    const r = await call('POST', '/v1/tokens', u.headers(), { name: 'laptop', expiresIn: '90d' });
    expect(r.statusCode).toBe(201);
    const created = r.json() as ApiToken & { token: string };
    expect(created).toMatchObject({ name: 'laptop', userId: u.id, userName: u.name, kind: 'user' });
    expect(created.token).toMatch(/^hth_user_/);
    const days = (Date.parse(created.expiresAt!) - Date.parse(created.createdAt)) / 86_400_000;
    expect(Math.round(days)).toBe(90);

    const rows = await api.p.manager.db.query<Record<string, unknown>>('SELECT * FROM tokens WHERE id = $1', [
      created.id,
    ]);
    expect(rows[0]!.hash).toBe(hashSecret(created.token));
    expect(JSON.stringify(rows)).not.toContain(created.token);

    const listed = (await listOf(u)).find((t) => t.id === created.id)!;
    expect(listed).toMatchObject({ name: 'laptop', lastUsedAt: null });
    expect(JSON.stringify(await listOf(u))).not.toContain(created.token);

    expect((await call('GET', '/v1/vms', bearer(created.token))).statusCode).toBe(200);
    // The last-used time is written beside the request, not before its answer.
    await expect
      .poll(async () => (await listOf(u)).find((t) => t.id === created.id)!.lastUsedAt)
      .not.toBeNull();
  });

  it('makes e2b_-shaped keys that the E2B API takes as X-API-KEY', async () => {
    const u = await user({ roles: { default: 'operator' } });
    const r = await call('POST', '/v1/tokens', u.headers(), { name: 'sdk', format: 'e2b' });
    expect(r.statusCode).toBe(201);
    const key = (r.json() as { token: string }).token;
    expect(key).toMatch(/^e2b_[0-9a-f]{40}$/);
    const listed = await call('GET', '/e2b/v2/sandboxes', { 'x-api-key': key });
    expect([listed.statusCode, listed.json()]).toEqual([200, []]);
    const refused = await call('GET', '/e2b/v2/sandboxes', { 'x-api-key': `e2b_${'0'.repeat(40)}` });
    expect([refused.statusCode, refused.json()]).toEqual([401, { code: 401, message: 'invalid API key' }]);
  });

  it('lists only the caller’s own tokens', async () => {
    const a = await user();
    const b = await user();
    const mine = await listOf(a);
    expect(mine.length).toBe(1);
    expect(mine.every((t) => t.userId === a.id)).toBe(true);
    expect((await listOf(b)).some((t) => t.userId === a.id)).toBe(false);
  });

  it('tells an expired token from an unknown one', async () => {
    const u = await user({ roles: { default: 'viewer' } });
    const r = await call('POST', '/v1/tokens', u.headers(), { name: 'short', expiresIn: '1h' });
    const { id, token } = r.json() as { id: string; token: string };
    expect((await call('GET', '/v1/vms', bearer(token))).statusCode).toBe(200);
    await api.p.manager.db.query(`UPDATE tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, [
      id,
    ]);
    const expired = await call('GET', '/v1/vms', bearer(token));
    expect(expired.statusCode).toBe(401);
    expect(expired.json().error).toMatchObject({ code: 'TOKEN_EXPIRED', hint: expect.any(String) });
    const unknown = await call('GET', '/v1/vms', bearer('hth_user_nope'));
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json().error.code).toBe('UNAUTHENTICATED');
  });

  it('scopes a token only to a project its creator belongs to', async () => {
    const u = await user({ roles: { 'tok-a': 'owner' } });
    await api.p.manager.stores.projects.create(`tok-b-${db}`);
    for (const project of [`tok-b-${db}`, 'tok-nowhere']) {
      const r = await call('POST', '/v1/tokens', u.headers(), { name: 'x', project });
      expect(r.statusCode).toBe(404);
      expect(r.json().error.code).toBe('PROJECT_NOT_FOUND');
    }
    const r = await call('POST', '/v1/tokens', u.headers(), { name: 'scoped', project: 'tok-a' });
    expect(r.statusCode).toBe(201);
    const scoped = r.json() as ApiToken & { token: string };
    expect(scoped.project).toBe('tok-a');
    expect((await call('GET', '/v1/vms', bearer(scoped.token))).statusCode).toBe(200);
    const elsewhere = await call('GET', '/v1/vms', {
      ...bearer(scoped.token),
      'x-hearth-project': 'default',
    });
    expect(elsewhere.json().error.code).toBe('TOKEN_SCOPE_EXCEEDED');
    // A scoped token makes only tokens as narrow as itself.
    const wider = await call('POST', '/v1/tokens', bearer(scoped.token), { name: 'w', project: 'default' });
    expect(wider.json().error.code).toBe('TOKEN_SCOPE_EXCEEDED');
    const narrow = await call('POST', '/v1/tokens', bearer(scoped.token), { name: 'n' });
    expect(narrow.statusCode).toBe(201);
    expect(narrow.json().project).toBe('tok-a');
    // An administrator may scope a token to any existing project.
    const admin = await user({ admin: true });
    const any = await call('POST', '/v1/tokens', admin.headers(), { name: 'a', project: `tok-b-${db}` });
    expect(any.statusCode).toBe(201);
  });

  it('gives the admin ceiling to administrators only, and never above the creating token', async () => {
    const u = await user({ roles: { default: 'owner' } });
    const refused = await call('POST', '/v1/tokens', u.headers(), { name: 'x', role: 'admin' });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe('TOKEN_SCOPE_EXCEEDED');
    const admin = await user({ admin: true });
    const granted = await call('POST', '/v1/tokens', admin.headers(), { name: 'x', role: 'admin' });
    expect(granted.statusCode).toBe(201);
    expect(granted.json().role).toBe('admin');

    const viewerTok = (await call('POST', '/v1/tokens', u.headers(), { name: 'v', role: 'viewer' })).json()
      .token as string;
    const up = await call('POST', '/v1/tokens', bearer(viewerTok), { name: 'o', role: 'operator' });
    expect(up.json().error.code).toBe('TOKEN_SCOPE_EXCEEDED');
    const same = await call('POST', '/v1/tokens', bearer(viewerTok), { name: 'o' });
    expect(same.statusCode).toBe(201);
    expect(same.json().role).toBe('viewer');
    // A capped administrator token does not administer tokens.
    const cappedAdmin = await makeUser(api.p.manager.stores, { admin: true, token: { role: 'viewer' } });
    const all = await call('GET', '/v1/tokens?all=true', cappedAdmin.headers());
    expect(all.json().error.code).toBe('TOKEN_SCOPE_EXCEEDED');
  });

  it('revokes the owner’s token; others’ tokens read as missing except to administrators', async () => {
    const a = await user({ roles: { default: 'viewer' } });
    const b = await user({ roles: { default: 'viewer' } });
    const admin = await user({ admin: true });
    const mk = async (u: TestUser) =>
      (await call('POST', '/v1/tokens', u.headers(), { name: 'r' })).json() as { id: string; token: string };
    const t1 = await mk(a);
    const foreign = await call('DELETE', `/v1/tokens/${t1.id}`, b.headers());
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json().error.code).toBe('TOKEN_NOT_FOUND');
    expect((await call('GET', '/v1/vms', bearer(t1.token))).statusCode).toBe(200);
    expect((await call('DELETE', `/v1/tokens/${t1.id}`, a.headers())).statusCode).toBe(204);
    const revoked = await call('GET', '/v1/vms', bearer(t1.token));
    expect(revoked.statusCode).toBe(401);
    expect(revoked.json().error.code).toBe('UNAUTHENTICATED');
    expect((await call('DELETE', `/v1/tokens/${t1.id}`, a.headers())).json().error.code).toBe(
      'TOKEN_NOT_FOUND',
    );
    const t2 = await mk(a);
    expect((await call('DELETE', `/v1/tokens/${t2.id}`, admin.headers())).statusCode).toBe(204);
    expect((await call('GET', '/v1/vms', bearer(t2.token))).statusCode).toBe(401);
  });

  it('lets administrators list another user’s tokens or all of them', async () => {
    const a = await user();
    const b = await user();
    const admin = await user({ admin: true });
    const ofA = await listOf(admin.headers(), `?user=${a.name}`);
    expect(ofA.map((t) => t.userId)).toEqual([a.id]);
    const all = await listOf(admin.headers(), '?all=true&limit=500');
    expect(all.some((t) => t.kind === 'admin' && t.userId === null)).toBe(true);
    expect(all.some((t) => t.userId === b.id)).toBe(true);
    // Join and agent credentials are not API tokens.
    expect(all.every((t) => t.kind === 'user' || t.kind === 'admin')).toBe(true);
    for (const q of [`?user=${b.name}`, '?all=true']) {
      const r = await call('GET', `/v1/tokens${q}`, a.headers());
      expect(r.statusCode).toBe(403);
      expect(r.json().error.code).toBe('ADMIN_REQUIRED');
    }
    expect((await listOf(a.headers(), `?user=${a.name}`)).map((t) => t.userId)).toEqual([a.id]);
    const ghost = await call('GET', '/v1/tokens?user=ghost', admin.headers());
    expect(ghost.json().error.code).toBe('USER_NOT_FOUND');
  });

  it('stops the tokens of a disabled user', async () => {
    const u = await user({ roles: { default: 'viewer' } });
    expect((await call('GET', '/v1/vms', u.headers())).statusCode).toBe(200);
    await api.p.manager.stores.users.patch(u.id, { disabled: true });
    const r = await call('GET', '/v1/vms', u.headers());
    expect(r.statusCode).toBe(403);
    expect(r.json().error.code).toBe('USER_DISABLED');
  });

  it('makes no token for the bootstrap admin token, which has no user', async () => {
    const r = await api.inject({ method: 'POST', url: '/v1/tokens', payload: { name: 'x' } });
    expect(r.statusCode).toBe(403);
    expect(r.json().error.code).toBe('FORBIDDEN');
  });
});

describeOnBackends('revoking the bootstrap admin token', (db) => {
  const api = useApiPlatform({ db, host: null });
  const { call, listOf } = caller(api);

  it('stops it at once and for good: a restart does not issue it or a new one', async () => {
    const admin = await makeUser(api.p.manager.stores, { admin: true });
    const bootstrap = api.p.manager.adminToken;
    expect((await api.inject({ method: 'GET', url: '/v1/vms' })).statusCode).toBe(200);
    const mine = await listOf({ authorization: `Bearer ${bootstrap}` });
    expect(mine.map((t) => t.kind)).toEqual(['admin']);
    const id = mine[0]!.id;
    expect((await call('DELETE', `/v1/tokens/${id}`, admin.headers())).statusCode).toBe(204);
    const after = await call('GET', '/v1/vms', { authorization: `Bearer ${bootstrap}` });
    expect(after.json().error.code).toBe('UNAUTHENTICATED');
    expect((await listOf(admin.headers(), '?all=true')).some((t) => t.kind === 'admin')).toBe(false);

    await api.p.manager.dispose();
    // The test platform passes the same fixed secret again, as an operator's config would.
    await api.p.startManager();
    expect(api.p.manager.adminToken).toBe('');
    const restarted = await call('GET', '/v1/vms', { authorization: `Bearer ${bootstrap}` });
    expect(restarted.json().error.code).toBe('UNAUTHENTICATED');
    await expect(access(join(api.p.dir, 'manager', 'admin.token'))).rejects.toThrow();
    expect((await listOf(admin.headers(), '?all=true')).some((t) => t.kind === 'admin')).toBe(false);
    expect((await call('GET', '/v1/vms', admin.headers())).statusCode).toBe(200);

    // As a real start would: no fixed secret and no admin.token file, so one would be made anew.
    await api.p.manager.dispose();
    const m = await startManager({
      dataDir: join(api.p.dir, 'manager'),
      host: '127.0.0.1',
      port: 0,
      databaseUrl: api.p.databaseUrl,
      network: null,
      heartbeatMs: 1000,
      log: testLog(),
      version: 'test',
    });
    try {
      expect(m.adminToken).toBe('');
      expect(await m.stores.tokens.list({ limit: 10 }, { bootstrap: true })).toEqual({
        items: [],
        nextCursor: null,
      });
    } finally {
      await m.dispose();
    }
  });
});
