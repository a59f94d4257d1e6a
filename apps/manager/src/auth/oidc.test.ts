import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { useApiPlatform } from '../../../../test/helpers/api-harness.ts';
import { CookieBrowser } from '../../../../test/helpers/cookie-browser.ts';
import { startTestProvider, type TestProvider } from '../../../../test/helpers/oidc-provider.ts';
import { HearthError } from '@hearth/contract';
import { testLog } from '../../../../test/helpers/platform.ts';
import type { OidcConfig } from './oidc-config.ts';
import { Oidc } from './oidc.ts';
import { SESSION_COOKIE } from './session-cookie.ts';
import { OIDC_FLOW_COOKIE } from '../routes/oidc.ts';

/**
 * Single sign-on against a real OpenID Connect provider (oidc-provider) on loopback: the whole
 * browser dance in plain HTTP, from the manager's start route through the provider's login and
 * consent to the manager's callback and a cookie-authenticated API call.
 */
describe('single sign-on with OpenID Connect', () => {
  let op: TestProvider;
  const manager: { oidc?: OidcConfig } = {};
  beforeAll(async () => {
    op = await startTestProvider();
    manager.oidc = {
      issuer: op.issuer,
      clientId: op.clientId,
      clientSecret: op.clientSecret,
      name: 'Test IdP',
      scopes: ['openid', 'profile', 'email', 'groups'],
      adminGroup: 'hearth-admins',
      defaultRole: 'viewer',
    };
    op.accounts.set('alice', { preferred_username: 'Alice', email: 'alice@example.test', name: 'Alice A' });
    op.accounts.set('bob', { email: 'Bob.Builder@example.test' });
    op.accounts.set('carol', { preferred_username: 'carol', groups: ['staff', 'hearth-admins'] });
  });
  afterAll(async () => {
    await op?.dispose();
  });
  const h = useApiPlatform({ platform: { manager } });
  beforeAll(() => {
    op.register(`${h.p.manager.url}/v1/auth/oidc/callback`);
  });

  const url = (path: string) => `${h.p.manager.url}${path}`;

  /** Start → provider → login (if asked) → consent (if asked): the callback URL the provider sends back. */
  async function toCallback(
    b: CookieBrowser,
    login: string,
    opts: { returnTo?: string; decline?: boolean } = {},
  ): Promise<string> {
    const q = opts.returnTo ? `?returnTo=${encodeURIComponent(opts.returnTo)}` : '';
    let at = url(`/v1/auth/oidc/start${q}`);
    for (let step = 0; step < 20; step++) {
      if (at.startsWith(url('/v1/auth/oidc/callback'))) return at;
      const res = await b.request(at);
      const next = CookieBrowser.location(res, at);
      if (next) {
        at = next;
        continue;
      }
      expect(res.status, `${at}: ${await res.clone().text()}`).toBe(200);
      const { uid, prompt } = (await res.json()) as { uid: string; prompt: string };
      const action = opts.decline ? 'abort' : prompt === 'login' ? 'login' : 'confirm';
      const posted = await b.request(`${op.issuer}/interaction/${uid}/${action}`, {
        form: prompt === 'login' && !opts.decline ? { login } : {},
      });
      at = CookieBrowser.location(posted, at) ?? expect.fail(`no redirect after ${action}`);
    }
    return expect.fail('the sign-in did not reach the callback');
  }

  it('signs a new user in: PKCE and nonce on the way out, a session cookie on the way back', async () => {
    const b = new CookieBrowser();
    const start = await b.request(url('/v1/auth/oidc/start?returnTo=%2Fvms%3Fq%3D1'));
    expect(start.status).toBe(302);
    const authz = new URL(start.headers.get('location')!);
    expect(authz.origin).toBe(op.issuer);
    expect(authz.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authz.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(authz.searchParams.get('nonce')).toBeTruthy();
    expect(authz.searchParams.get('state')).toBe(b.cookie(url('/'), OIDC_FLOW_COOKIE));
    expect(authz.searchParams.get('redirect_uri')).toBe(url('/v1/auth/oidc/callback'));

    const callback = await toCallback(b, 'alice', { returnTo: '/vms?q=1' });
    const done = await b.request(callback);
    expect(done.status).toBe(302);
    expect(done.headers.get('location')).toBe('/vms?q=1');
    const cookie = b.cookie(url('/'), SESSION_COOKIE);
    expect(cookie).toMatch(/^hth_ses_/);
    expect(b.cookie(url('/'), OIDC_FLOW_COOKIE)).toBeUndefined();

    const user = (await h.p.manager.stores.users.get('alice'))!;
    expect(user).toMatchObject({
      oidc_issuer: op.issuer,
      oidc_subject: 'alice',
      email: 'alice@example.test',
      display_name: 'Alice A',
      admin: false,
    });
    expect(user.last_sign_in_at).not.toBeNull();
    expect(await h.p.manager.stores.projects.roleOf('default', user.id)).toMatchObject({ role: 'viewer' });

    const vms = await h.p.manager.app.inject({
      method: 'GET',
      url: '/v1/vms',
      headers: { cookie: `${SESSION_COOKIE}=${cookie}` },
    });
    expect(vms.statusCode, vms.body).toBe(200);

    // The same subject signs in again as the same user.
    const again = new CookieBrowser();
    expect((await again.request(await toCallback(again, 'alice'))).headers.get('location')).toBe('/');
    expect((await h.p.manager.stores.users.get('alice'))!.id).toBe(user.id);
  });

  it('names users from their claims as DNS labels, never taking over a local name', async () => {
    await h.p.manager.stores.users.create({ name: 'bob-builder' });
    const b = new CookieBrowser();
    expect((await b.request(await toCallback(b, 'bob'))).status).toBe(302);
    const bob = (await h.p.manager.stores.users.get('bob-builder-2'))!;
    expect(bob).toMatchObject({ oidc_subject: 'bob', email: 'Bob.Builder@example.test' });
  });

  it('makes members of the configured group administrators', async () => {
    const b = new CookieBrowser();
    expect((await b.request(await toCallback(b, 'carol'))).status).toBe(302);
    expect((await h.p.manager.stores.users.get('carol'))!.admin).toBe(true);
    op.accounts.set('carol', { preferred_username: 'carol', groups: ['staff'] });
    const b2 = new CookieBrowser();
    expect((await b2.request(await toCallback(b2, 'carol'))).status).toBe(302);
    expect((await h.p.manager.stores.users.get('carol'))!.admin).toBe(false);
  });

  it('refuses a callback whose state was tampered with or belongs to another browser', async () => {
    const b = new CookieBrowser();
    const callback = new URL(await toCallback(b, 'alice'));
    const tampered = new URL(callback);
    tampered.searchParams.set('state', `${callback.searchParams.get('state')}x`);
    const api = await h.p.manager.app.inject({
      method: 'GET',
      url: tampered.pathname + tampered.search,
      headers: { cookie: `${OIDC_FLOW_COOKIE}=${b.cookie(url('/'), OIDC_FLOW_COOKIE)}` },
    });
    expect(api.statusCode).toBe(401);
    expect(api.json().error.code).toBe('OIDC_FAILED');

    // The genuine callback, replayed by another browser (no flow cookie: login CSRF).
    const other = await new CookieBrowser().request(callback.href);
    expect(other.status).toBe(302);
    expect(other.headers.get('location')).toBe('/?signin_error=OIDC_FAILED');
    expect(other.headers.get('set-cookie') ?? '').not.toContain(`${SESSION_COOKIE}=hth_`);
  });

  it('refuses the second use of a callback (its code and state)', async () => {
    const b = new CookieBrowser();
    const callback = await toCallback(b, 'alice');
    const flow = b.cookie(url('/'), OIDC_FLOW_COOKIE)!;
    expect((await b.request(callback)).headers.get('location')).toBe('/');
    const replay = new CookieBrowser();
    replay.setCookie(url('/'), OIDC_FLOW_COOKIE, flow);
    const res = await replay.request(callback, { accept: 'application/json' });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('OIDC_FAILED');
    expect(replay.cookie(url('/'), SESSION_COOKIE)).toBeUndefined();
  });

  it('sends the browser back with the code when the person declines at the provider', async () => {
    const b = new CookieBrowser();
    const callback = await toCallback(b, 'alice', { decline: true });
    expect(new URL(callback).searchParams.get('error')).toBe('access_denied');
    const res = await b.request(callback);
    expect(res.headers.get('location')).toBe('/?signin_error=OIDC_FAILED');
    expect(b.cookie(url('/'), SESSION_COOKIE)).toBeUndefined();
  });

  it('refuses a disabled user', async () => {
    op.accounts.set('dave', { preferred_username: 'dave' });
    const first = new CookieBrowser();
    expect((await first.request(await toCallback(first, 'dave'))).headers.get('location')).toBe('/');
    const dave = (await h.p.manager.stores.users.get('dave'))!;
    await h.p.manager.stores.users.patch(dave.id, { disabled: true });
    const b = new CookieBrowser();
    const callback = await toCallback(b, 'dave');
    const res = await b.request(callback);
    expect(res.headers.get('location')).toBe('/?signin_error=USER_DISABLED');
    expect(b.cookie(url('/'), SESSION_COOKIE)).toBeUndefined();
    const api = new CookieBrowser();
    const res2 = await api.request(await toCallback(api, 'dave'), { accept: 'application/json' });
    expect(res2.status).toBe(403);
    expect(((await res2.json()) as { error: { code: string } }).error.code).toBe('USER_DISABLED');
  });

  it('answers OIDC_PROVIDER_UNREACHABLE while the provider is down, and discovers it once it answers', async () => {
    const deps = {
      db: h.p.manager.db,
      stores: h.p.manager.stores,
      log: testLog(),
      managerUrl: () => h.p.manager.url,
    };
    const gone = await startTestProvider();
    await gone.dispose();
    const refused = await new Oidc({ issuer: gone.issuer, clientId: 'c', clientSecret: 's' }, deps)
      .start('/')
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(HearthError);
    expect(refused).toMatchObject({ code: 'OIDC_PROVIDER_UNREACHABLE', status: 502 });
    expect((refused as Error).message).toContain(gone.issuer);

    // A provider answering 503 until its client is registered: a failed discovery is not kept.
    const late = await startTestProvider();
    try {
      const oidc = new Oidc(
        { issuer: late.issuer, clientId: late.clientId, clientSecret: late.clientSecret },
        deps,
      );
      await expect(oidc.start('/')).rejects.toMatchObject({ code: 'OIDC_PROVIDER_UNREACHABLE' });
      late.register(`${h.p.manager.url}/v1/auth/oidc/callback`);
      expect((await oidc.start('/')).url.startsWith(`${late.issuer}/`)).toBe(true);
    } finally {
      await late.dispose();
    }
  });

  it.each(['https://evil.example/', '//evil.example/', '/\\evil.example', '/.//evil.example', 'vms'])(
    'refuses returnTo %s (an open redirect)',
    async (returnTo) => {
      const res = await h.p.manager.app.inject({
        method: 'GET',
        url: `/v1/auth/oidc/start?returnTo=${encodeURIComponent(returnTo)}`,
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_FAILED');
      const page = await new CookieBrowser().request(
        url(`/v1/auth/oidc/start?returnTo=${encodeURIComponent(returnTo)}`),
      );
      expect(page.headers.get('location')).toBe('/?signin_error=VALIDATION_FAILED');
    },
  );
});

describe('single sign-on when not configured', () => {
  const h = useApiPlatform({ host: null });
  it('answers 404 OIDC_NOT_CONFIGURED on both routes', async () => {
    for (const path of ['/v1/auth/oidc/start', '/v1/auth/oidc/callback?code=x&state=y']) {
      const res = await h.p.manager.app.inject({ method: 'GET', url: path });
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('OIDC_NOT_CONFIGURED');
    }
  });
});
