import { expect, it } from 'vitest';
import { describeOnBackends, useApiPlatform } from '../../../../test/helpers/api-harness.ts';
import { passwordUser, signIn } from './auth-test-helpers.ts';

describeOnBackends('sign-in', (db) => {
  const api = useApiPlatform({ db, platform: { manager: { signInLimits: { perUser: 3, perSource: 5 } } } });
  const m = () => api.p.manager;
  const login = (body: Record<string, unknown>, remoteAddress = '127.0.0.1') =>
    m().app.inject({ method: 'POST', url: '/v1/auth/login', payload: body, remoteAddress });

  it('creates the first administrator with a one-time password kept 0600 in the data directory', async () => {
    const first = m().firstAdmin!;
    expect(first).toMatchObject({ name: 'admin' });
    const { readFile, stat } = await import('node:fs/promises');
    expect((await readFile(first.passwordFile!, 'utf8')).trim()).toBe(first.password);
    expect((await stat(first.passwordFile!)).mode & 0o777).toBe(0o600);
    const s = await signIn(m(), 'admin', first.password!);
    const me = await m().app.inject({ method: 'GET', url: '/v1/vms', headers: s.headers() });
    expect(me.statusCode).toBe(200);
    // The admin token keeps working beside it.
    expect((await api.inject({ method: 'GET', url: '/v1/vms' })).statusCode).toBe(200);
  });

  it('says how one may sign in', async () => {
    const r = await m().app.inject({ method: 'GET', url: '/v1/auth/config' });
    expect(r.json()).toMatchObject({ password: true, oidc: { enabled: false } });
  });

  it('signs in with a session cookie: HttpOnly, SameSite, with a CSRF value; touches last sign-in', async () => {
    const u = await passwordUser(m());
    const s = await signIn(m(), u.name, u.password);
    expect(s.setCookie).toMatch(/HttpOnly/i);
    expect(s.setCookie).toMatch(/SameSite=Lax/i);
    expect(s.setCookie).toMatch(/Path=\//);
    expect(s.setCookie).toMatch(/Expires=/);
    expect(s.csrf.length).toBeGreaterThan(20);
    expect((await m().stores.users.require(u.id)).last_sign_in_at).not.toBeNull();
    const list = await m().app.inject({ method: 'GET', url: '/v1/vms', headers: s.headers() });
    expect(list.statusCode).toBe(200);
  });

  it('issues an API token on request, named and with an expiry', async () => {
    const u = await passwordUser(m());
    const r = await login({ username: u.name, password: u.password, issue: 'token', expiresIn: '1h' });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.token).toMatch(/^hth_user_/);
    expect(body.csrf).toBeNull();
    expect(r.headers['set-cookie']).toBeUndefined();
    expect(Date.parse(body.expiresAt) - Date.now()).toBeGreaterThan(50 * 60_000);
    const rows = await m().db.query<{ name: string }>('SELECT name FROM tokens WHERE user_id = $1', [u.id]);
    expect(rows.map((t) => t.name)).toEqual(['cli']);
    const list = await m().app.inject({
      method: 'GET',
      url: '/v1/vms',
      headers: { authorization: `Bearer ${body.token}` },
    });
    expect(list.statusCode).toBe(200);
  });

  it('answers a wrong password and an unknown user alike, and a disabled user with USER_DISABLED', async () => {
    const u = await passwordUser(m());
    const wrong = await login({ username: u.name, password: 'not-it' }, '10.1.0.1');
    const unknown = await login({ username: `${u.name}-nobody`, password: 'not-it' }, '10.1.0.1');
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe('INVALID_CREDENTIALS');
    expect(unknown.json().error.message).toBe(wrong.json().error.message);
    // A user's id is not a user name.
    const byId = await login({ username: u.id, password: u.password }, '10.1.0.1');
    expect(byId.json().error.code).toBe('INVALID_CREDENTIALS');
    const d = await passwordUser(m(), { disabled: true });
    const off = await login({ username: d.name, password: d.password }, '10.1.0.2');
    expect(off.statusCode).toBe(403);
    expect(off.json().error.code).toBe('USER_DISABLED');
  });

  it('pauses a user name after repeated failures (Retry-After), and a success clears its count', async () => {
    const u = await passwordUser(m());
    await login({ username: u.name, password: 'x' }, '10.2.0.1');
    await login({ username: u.name, password: 'x' }, '10.2.0.2');
    expect((await login({ username: u.name, password: u.password }, '10.2.0.3')).statusCode).toBe(200);
    // Cleared: three more failures from three addresses before the pause.
    for (const a of ['10.2.0.4', '10.2.0.5', '10.2.0.6']) {
      expect((await login({ username: u.name, password: 'x' }, a)).statusCode).toBe(401);
    }
    const paused = await login({ username: u.name, password: u.password }, '10.2.0.7');
    expect(paused.statusCode).toBe(429);
    expect(paused.json().error.code).toBe('TOO_MANY_SIGN_IN_ATTEMPTS');
    expect(Number(paused.headers['retry-after'])).toBeGreaterThan(0);
    // Another user is not affected.
    const other = await passwordUser(m());
    expect((await login({ username: other.name, password: other.password }, '10.2.0.7')).statusCode).toBe(
      200,
    );
  });

  it('pauses a source address after repeated failures across user names', async () => {
    for (let i = 0; i < 5; i++) {
      expect((await login({ username: `ghost-${i}`, password: 'x' }, '10.3.0.1')).statusCode).toBe(401);
    }
    const u = await passwordUser(m());
    const paused = await login({ username: u.name, password: u.password }, '10.3.0.1');
    expect(paused.statusCode).toBe(429);
    expect(Number(paused.headers['retry-after'])).toBeGreaterThan(0);
    expect((await login({ username: u.name, password: u.password }, '10.3.0.2')).statusCode).toBe(200);
  });

  it('refuses cookie-authenticated writes without the CSRF header and accepts them with it', async () => {
    const u = await passwordUser(m());
    const s = await signIn(m(), u.name, u.password);
    const post = (headers: Record<string, string>) =>
      m().app.inject({ method: 'POST', url: '/v1/auth/tickets', headers });
    const bare = await post(s.headers());
    expect(bare.statusCode).toBe(403);
    expect(bare.json().error.code).toBe('CSRF_FAILED');
    const wrong = await post({ ...s.headers(), 'x-csrf-token': 'nope' });
    expect(wrong.json().error.code).toBe('CSRF_FAILED');
    expect((await post(s.headers(true))).statusCode).toBe(201);
  });

  it('ignores the cookie on a request another origin started', async () => {
    const u = await passwordUser(m());
    const s = await signIn(m(), u.name, u.password);
    const get = (origin: string) =>
      m().app.inject({
        method: 'GET',
        url: '/v1/vms',
        headers: { ...s.headers(), host: 'hearth.test', origin },
      });
    expect((await get('http://hearth.test')).statusCode).toBe(200);
    expect((await get('http://hearth.test:8081')).statusCode).toBe(401);
  });

  it('signs out one session, and every session of the user', async () => {
    const u = await passwordUser(m());
    const a = await signIn(m(), u.name, u.password);
    const b = await signIn(m(), u.name, u.password);
    const c = await signIn(m(), u.name, u.password);
    const vms = (s: typeof a) => m().app.inject({ method: 'GET', url: '/v1/vms', headers: s.headers() });
    const out = await m().app.inject({ method: 'POST', url: '/v1/auth/logout', headers: a.headers(true) });
    expect(out.statusCode).toBe(204);
    expect(String(out.headers['set-cookie'])).toMatch(/hearth_session=;/);
    expect((await vms(a)).statusCode).toBe(401);
    expect((await vms(b)).statusCode).toBe(200);
    const all = await m().app.inject({
      method: 'POST',
      url: '/v1/auth/logout-all',
      headers: b.headers(true),
    });
    expect(all.statusCode).toBe(204);
    expect((await vms(b)).statusCode).toBe(401);
    expect((await vms(c)).statusCode).toBe(401);
    expect(await api.count('sessions WHERE user_id = ' + `'${u.id}'`)).toBe(0);
  });
});
