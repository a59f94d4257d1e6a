import { expect, it } from 'vitest';
import { describeOnBackends, useApiPlatform } from '../../../../test/helpers/api-harness.ts';
import { makeUser } from '../../../../test/helpers/identity.ts';
import { hashPassword, verifyPassword } from '../auth/passwords.ts';

describeOnBackends('users API', (db) => {
  const api = useApiPlatform({ db });
  const stores = () => api.p.manager.stores;
  const rows = async (sql: string, params: unknown[]) =>
    api.p.manager.db.query<Record<string, unknown>>(sql, params);

  it('creates a user with a scrypt hash it never shows, and finds it by id or name', async () => {
    const r = await api.inject({
      method: 'POST',
      url: '/v1/users',
      payload: { name: 'ada', password: 'correct horse', displayName: 'Ada L.', email: 'ada@example.org' },
    });
    expect(r.statusCode).toBe(201);
    const u = r.json();
    expect(u).toMatchObject({
      name: 'ada',
      displayName: 'Ada L.',
      admin: false,
      disabled: false,
      hasPassword: true,
    });
    expect(r.body).not.toMatch(/scrypt|"password"|password_?hash/i);
    const [row] = await rows('SELECT password_hash FROM users WHERE id = $1', [u.id]);
    const stored = String(row!.password_hash);
    expect(stored).toMatch(/^scrypt\$32768\$8\$3\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    expect(await verifyPassword('correct horse', stored)).toBe(true);
    expect(await verifyPassword('wrong horse', stored)).toBe(false);

    for (const id of [u.id, 'ada']) {
      const got = await api.inject({ method: 'GET', url: `/v1/users/${id}` });
      expect(got.json()).toEqual(u);
    }
    const list = await api.inject({ method: 'GET', url: '/v1/users?limit=500' });
    expect(list.json().items.map((x: { name: string }) => x.name)).toContain('ada');
    expect(list.body).not.toMatch(/scrypt/);

    const again = await api.inject({ method: 'POST', url: '/v1/users', payload: { name: 'ada' } });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('USER_NAME_TAKEN');
    const missing = await api.inject({ method: 'GET', url: '/v1/users/nobody-here' });
    expect(missing.json().error.code).toBe('USER_NOT_FOUND');
  });

  it('refuses a short password and unknown fields', async () => {
    const r = await api.inject({
      method: 'POST',
      url: '/v1/users',
      payload: { name: 'shorty', password: 'x' },
    });
    expect(r.statusCode).toBe(400);
    expect(r.json().error.fields).toHaveProperty('password');
    const p = await api.inject({ method: 'PATCH', url: '/v1/users/shorty', payload: { passwordHash: 'x' } });
    expect(p.statusCode).toBe(400);
  });

  it('disabling a user ends its sessions and stops its tokens; enabling restores the tokens', async () => {
    const u = await makeUser(stores(), { roles: { default: 'viewer' } });
    await stores().sessions.create(u.id, { ttlMs: 3_600_000 });
    const sessions = async () => (await rows('SELECT id FROM sessions WHERE user_id = $1', [u.id])).length;
    expect(await sessions()).toBe(1);
    const me = () => api.p.manager.app.inject({ method: 'GET', url: '/v1/me', headers: u.headers() });
    expect((await me()).statusCode).toBe(200);

    const off = await api.inject({
      method: 'PATCH',
      url: `/v1/users/${u.name}`,
      payload: { disabled: true },
    });
    expect(off.statusCode).toBe(200);
    expect(off.json().disabled).toBe(true);
    expect(await sessions()).toBe(0);
    const refused = await me();
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe('USER_DISABLED');

    const on = await api.inject({ method: 'PATCH', url: `/v1/users/${u.id}`, payload: { disabled: false } });
    expect(on.json().disabled).toBe(false);
    expect((await me()).statusCode).toBe(200);
  });

  it('changes a password (ending sessions), the admin flag and the default project', async () => {
    const u = await makeUser(stores(), { roles: { 'users-dp': 'viewer' } });
    await stores().sessions.create(u.id, { ttlMs: 3_600_000 });
    const r = await api.inject({
      method: 'PATCH',
      url: `/v1/users/${u.id}`,
      payload: { password: 'a new password', admin: true, defaultProject: 'users-dp' },
    });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ admin: true, hasPassword: true });
    const [row] = await rows('SELECT password_hash, default_project FROM users WHERE id = $1', [u.id]);
    expect(await verifyPassword('a new password', String(row!.password_hash))).toBe(true);
    expect(row!.default_project).toBe('users-dp');
    expect(await rows('SELECT id FROM sessions WHERE user_id = $1', [u.id])).toHaveLength(0);

    const bad = await api.inject({
      method: 'PATCH',
      url: `/v1/users/${u.id}`,
      payload: { defaultProject: 'no-such-project' },
    });
    expect(bad.statusCode).toBe(404);
    expect(bad.json().error.code).toBe('PROJECT_NOT_FOUND');
  });

  it('deletes a user with its memberships, sessions and tokens, but never the last owner of a project', async () => {
    const u = await makeUser(stores(), { roles: { 'users-solo': 'owner', default: 'viewer' } });
    await stores().sessions.create(u.id, { ttlMs: 3_600_000 });
    const refused = await api.inject({ method: 'DELETE', url: `/v1/users/${u.name}` });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('LAST_OWNER');
    expect(refused.json().error.detail).toEqual({ projects: ['users-solo'] });
    expect(
      (await api.p.manager.app.inject({ method: 'GET', url: '/v1/me', headers: u.headers() })).statusCode,
    ).toBe(200);

    const other = await makeUser(stores(), { roles: { 'users-solo': 'owner' } });
    const ok = await api.inject({ method: 'DELETE', url: `/v1/users/${u.name}` });
    expect(ok.statusCode).toBe(204);
    for (const table of ['memberships', 'sessions', 'tokens']) {
      expect(await rows(`SELECT 1 FROM ${table} WHERE user_id = $1`, [u.id]), table).toHaveLength(0);
    }
    expect(await rows('SELECT 1 FROM memberships WHERE user_id = $1', [other.id])).toHaveLength(1);
    const gone = await api.inject({ method: 'DELETE', url: `/v1/users/${u.id}` });
    expect(gone.json().error.code).toBe('USER_NOT_FOUND');
  });

  it('is for administrators only', async () => {
    const u = await makeUser(stores(), { roles: { default: 'owner' } });
    const r = await api.p.manager.app.inject({ method: 'GET', url: '/v1/users', headers: u.headers() });
    expect(r.statusCode).toBe(403);
    expect(r.json().error.code).toBe('ADMIN_REQUIRED');
    const a = await makeUser(stores(), { admin: true });
    const ok = await api.p.manager.app.inject({ method: 'GET', url: '/v1/users', headers: a.headers() });
    expect(ok.statusCode).toBe(200);
  });

  it('hashes with a fresh salt each time', async () => {
    const [a, b] = [await hashPassword('same password'), await hashPassword('same password')];
    expect(a).not.toBe(b);
    expect(await verifyPassword('same password', b)).toBe(true);
    expect(await verifyPassword('same password', 'plain-text')).toBe(false);
  });
});
