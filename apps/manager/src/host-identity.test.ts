import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeOnBackends, useApiPlatform } from '../../../test/helpers/api-harness.ts';
import { fakeInventory } from '../../../test/helpers/fake-host.ts';
import { makeUser } from '../../../test/helpers/identity.ts';

// Join tokens (uses, expiry, revocation) and host identity on re-registration, through the API,
// on both databases. Rotation with a real agent is in test/e2e/restart.test.ts.
describeOnBackends('host identity', (db) => {
  const api = useApiPlatform({ db });
  const m = () => api.p.manager;
  const callback = () => randomBytes(24).toString('base64url');
  const register = (bearer: string, name: string, cb = callback()) =>
    m().app.inject({
      method: 'POST',
      url: '/v1/hosts/register',
      headers: { authorization: `Bearer ${bearer}` },
      payload: { name, url: 'http://127.0.0.1:9', callbackToken: cb, inventory: fakeInventory },
    });
  const joinToken = async (body: Record<string, unknown> = {}) => {
    const r = await api.inject({
      method: 'POST',
      url: '/v1/join-tokens',
      payload: { name: 'test', ...body },
    });
    expect(r.statusCode, r.body).toBe(201);
    return r.json() as { id: string; token: string; usesLeft: number | null; expiresAt: string };
  };
  const listed = async (id: string) => {
    const r = await api.inject({ method: 'GET', url: '/v1/join-tokens' });
    expect(r.statusCode).toBe(200);
    return (
      r.json() as { items: { id: string; usesLeft: number | null; lastUsedAt: string | null }[] }
    ).items.find((t) => t.id === id);
  };
  const unique = (prefix: string) => `${prefix}-${randomBytes(3).toString('hex')}`;
  const heartbeat = (bearer: string, hostId: string) =>
    m().app.inject({
      method: 'POST',
      url: `/v1/hosts/${hostId}/heartbeat`,
      headers: { authorization: `Bearer ${bearer}` },
      payload: { inventory: fakeInventory, vms: [] },
    });

  it('creates join tokens that expire in 24 h and last one host by default, stored as hashes', async () => {
    const t = await joinToken();
    expect(t.usesLeft).toBe(1);
    const hours = (Date.parse(t.expiresAt) - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(23);
    expect(hours).toBeLessThanOrEqual(24);
    const rows = await m().db.query<{ hash: string }>('SELECT hash FROM tokens WHERE id = $1', [t.id]);
    expect(rows[0]!.hash).not.toContain(t.token);
    expect(JSON.stringify(await listed(t.id))).not.toContain(t.token);
  });

  it('counts uses: a batch token registers as many hosts as it allows, then says it is used up', async () => {
    const t = await joinToken({ uses: 2 });
    expect((await register(t.token, unique('batch'))).statusCode).toBe(200);
    expect((await register(t.token, unique('batch'))).statusCode).toBe(200);
    const third = await register(t.token, unique('batch'));
    expect(third.statusCode).toBe(401);
    expect(third.json().error.code).toBe('INVALID_JOIN_TOKEN');
    expect(third.json().error.message).toContain('used up');
    const row = await listed(t.id);
    expect(row).toMatchObject({ usesLeft: 0 });
    expect(row!.lastUsedAt).not.toBeNull();
  });

  it('takes exactly `uses` registrations when many race for them', async () => {
    const t = await joinToken({ uses: 3 });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => register(t.token, unique(`race${i}`))),
    );
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes).toEqual([200, 200, 200, 401, 401, 401, 401, 401]);
    expect((await listed(t.id))!.usesLeft).toBe(0);
  });

  it('refuses an expired join token and says so', async () => {
    const { token } = await m().stores.joinTokens.create({
      name: 'old',
      expiresAt: new Date(Date.now() - 1000),
      uses: 5,
    });
    const r = await register(token, unique('late'));
    expect(r.statusCode).toBe(401);
    expect(r.json().error).toMatchObject({
      code: 'INVALID_JOIN_TOKEN',
      message: expect.stringContaining('expired'),
    });
  });

  it('revokes a join token: registration says it was revoked, the list no longer shows it', async () => {
    const t = await joinToken({ uses: 5 });
    const del = await api.inject({ method: 'DELETE', url: `/v1/join-tokens/${t.id}` });
    expect(del.statusCode).toBe(204);
    const r = await register(t.token, unique('revoked'));
    expect(r.statusCode).toBe(401);
    expect(r.json().error.message).toContain('revoked');
    expect(await listed(t.id)).toBeUndefined();
    const again = await api.inject({ method: 'DELETE', url: `/v1/join-tokens/${t.id}` });
    expect(again.statusCode).toBe(404);
    expect(again.json().error.code).toBe('TOKEN_NOT_FOUND');
  });

  it('refuses a join token to take over a registered host, without using it up', async () => {
    const before = await m().db.query<{ url: string; callback_token: string }>(
      "SELECT url, callback_token FROM hosts WHERE name = 'fake-host'",
    );
    const t = await joinToken();
    const r = await register(t.token, 'fake-host');
    expect(r.statusCode).toBe(409);
    expect(r.json().error.code).toBe('HOST_IDENTITY_MISMATCH');
    // The data directory's join token cannot either.
    expect((await register(m().joinToken, 'fake-host')).json().error.code).toBe('HOST_IDENTITY_MISMATCH');
    expect(await m().db.query("SELECT url, callback_token FROM hosts WHERE name = 'fake-host'")).toEqual(
      before,
    );
    expect((await listed(t.id))!.usesLeft).toBe(1);
  });

  it('re-registers a host with its agent credential: same id, the old credential revoked', async () => {
    const name = unique('again');
    const first = await register(m().joinToken, name);
    expect(first.statusCode).toBe(200);
    const { host, agentToken } = first.json() as { host: { id: string }; agentToken: string };
    const cb = callback();
    const second = await register(agentToken, name, cb);
    expect(second.statusCode, second.body).toBe(200);
    const next = second.json() as { host: { id: string }; agentToken: string };
    expect(next.host.id).toBe(host.id);
    expect(next.agentToken).not.toBe(agentToken);
    expect((await heartbeat(agentToken, host.id)).statusCode).toBe(401);
    expect((await heartbeat(next.agentToken, host.id)).statusCode).toBe(200);
    const rows = await m().db.query<{ callback_token: string }>(
      'SELECT callback_token FROM hosts WHERE id = $1',
      [host.id],
    );
    expect(rows[0]!.callback_token).toBe(cb);
    // A spent credential is refused, saying why.
    const stale = await register(agentToken, name);
    expect(stale.statusCode).toBe(401);
    expect(stale.json().error.code).toBe('INVALID_JOIN_TOKEN');
  });

  it("refuses one host's credential for another host's name", async () => {
    const a = (await register(m().joinToken, unique('mine'))).json() as { agentToken: string };
    const r = await register(a.agentToken, 'fake-host');
    expect(r.statusCode).toBe(409);
    expect(r.json().error.code).toBe('HOST_IDENTITY_MISMATCH');
  });

  it('keeps join tokens and rotation to administrators', async () => {
    const u = await makeUser(m().stores, { roles: { default: 'owner' } });
    for (const [method, url] of [
      ['GET', '/v1/join-tokens'],
      ['POST', '/v1/join-tokens'],
      ['POST', '/v1/hosts/fake-host/rotate-credentials'],
    ] as const) {
      const r = await m().app.inject({ method, url, headers: u.headers(), payload: { name: 'x' } });
      expect(r.statusCode, `${method} ${url}`).toBe(403);
      expect(r.json().error.code).toBe('ADMIN_REQUIRED');
    }
  });

  it('refuses a malformed join token request', async () => {
    const r = await api.inject({ method: 'POST', url: '/v1/join-tokens', payload: { name: 'x', uses: 0 } });
    expect(r.statusCode).toBe(400);
    expect(r.json().error.code).toBe('VALIDATION_FAILED');
    const e = await api.inject({
      method: 'POST',
      url: '/v1/join-tokens',
      payload: { name: 'x', expiresIn: 'soon' },
    });
    expect(e.statusCode).toBe(400);
  });
});
