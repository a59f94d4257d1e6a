import { describe, expect, it } from 'vitest';
import { PendingSignIns } from './oidc-pending.ts';
import { isAdminBy, userNameFrom } from './oidc-accounts.ts';
import { oidcConfigFromEnv } from './oidc-config.ts';
import { safeReturnTo } from '../routes/oidc.ts';
import { Oidc, oidcPublicConfig } from './oidc.ts';

const flow = (returnTo = '/') => ({ verifier: 'v', nonce: 'n', returnTo });

describe('sign-ins in flight', () => {
  it('hands each state out once', () => {
    const p = new PendingSignIns();
    p.add('s1', flow('/a'));
    expect(p.take('s1')).toEqual(flow('/a'));
    expect(p.take('s1')).toBeNull();
    expect(p.take('never')).toBeNull();
  });

  it('forgets a sign-in after its lifetime, and sweeps expired ones on add', () => {
    let now = 0;
    const p = new PendingSignIns(600_000, 100, () => now);
    p.add('old', flow());
    p.add('older-still-live', flow());
    now = 600_000;
    expect(p.take('old')).toBeNull();
    p.add('new', flow());
    expect(p.size).toBe(1);
    expect(p.take('new')).toEqual(flow());
  });

  it('keeps at most `max` sign-ins, dropping the oldest', () => {
    const p = new PendingSignIns(600_000, 3);
    for (const s of ['a', 'b', 'c', 'd']) p.add(s, flow());
    expect(p.size).toBe(3);
    expect(p.take('a')).toBeNull();
    expect(p.take('d')).not.toBeNull();
  });
});

describe('user names from claims', () => {
  it.each([
    [{ sub: '1', preferred_username: 'Alice' }, 'alice'],
    [{ sub: '1', email: 'Bob.Builder+x@example.com' }, 'bob-builder-x'],
    [{ sub: '1', preferred_username: 'José Ñandú' }, 'jose-nandu'],
    [{ sub: '1', name: '--' }, 'user'],
    [{ sub: '1' }, 'user'],
    [{ sub: '1', preferred_username: 'x'.repeat(80) }, 'x'.repeat(55)],
  ])('%j → %s', (claims, name) => {
    expect(userNameFrom(claims)).toBe(name);
  });
});

describe('the admin group claim', () => {
  const cfg = { issuer: 'https://i', clientId: 'c', clientSecret: 's' };
  it('is ignored unless configured, and matches strings and lists', () => {
    expect(isAdminBy(cfg, { sub: '1', groups: ['admins'] })).toBeNull();
    const withGroup = { ...cfg, adminGroup: 'admins' };
    expect(isAdminBy(withGroup, { sub: '1', groups: ['x', 'admins'] })).toBe(true);
    expect(isAdminBy(withGroup, { sub: '1', groups: 'admins' })).toBe(true);
    expect(isAdminBy(withGroup, { sub: '1' })).toBe(false);
    expect(isAdminBy({ ...withGroup, adminClaim: 'roles' }, { sub: '1', roles: ['admins'] })).toBe(true);
  });
});

describe('OIDC settings from the environment', () => {
  it('is off without an issuer, refuses half a configuration and bad values', () => {
    expect(oidcConfigFromEnv({})).toBeNull();
    expect(() => oidcConfigFromEnv({ HEARTH_OIDC_ISSUER: 'https://idp' })).toThrow(
      /HEARTH_OIDC_CLIENT_ID and HEARTH_OIDC_CLIENT_SECRET/,
    );
    const base = {
      HEARTH_OIDC_ISSUER: 'https://idp/realms/x',
      HEARTH_OIDC_CLIENT_ID: 'hearth',
      HEARTH_OIDC_CLIENT_SECRET: 's3cret',
    };
    expect(() => oidcConfigFromEnv({ ...base, HEARTH_OIDC_ISSUER: 'idp' })).toThrow(/not a URL/);
    expect(() => oidcConfigFromEnv({ ...base, HEARTH_OIDC_DEFAULT_ROLE: 'admin' })).toThrow(/DEFAULT_ROLE/);
    expect(
      oidcConfigFromEnv({ ...base, HEARTH_OIDC_SCOPES: 'openid, email groups', HEARTH_OIDC_NAME: 'Corp' }),
    ).toEqual({
      issuer: 'https://idp/realms/x',
      clientId: 'hearth',
      clientSecret: 's3cret',
      scopes: ['openid', 'email', 'groups'],
      name: 'Corp',
    });
  });
});

describe('returnTo', () => {
  it('keeps paths on this site', () => {
    expect(safeReturnTo(undefined)).toBe('/');
    expect(safeReturnTo('/vms/abc?tab=console#x')).toBe('/vms/abc?tab=console#x');
    expect(safeReturnTo('/a/../b')).toBe('/b');
  });
  it.each(['https://evil.example', '//evil.example', '/\\evil.example', '/.//evil.example', 'vms', '/\tx'])(
    'refuses %j',
    (r) => {
      expect(() => safeReturnTo(r)).toThrow(/must be a path/);
    },
  );
});

describe('the public single sign-on settings', () => {
  it('say whether it is on and the button label, nothing secret', () => {
    expect(oidcPublicConfig(null)).toEqual({ enabled: false, name: null });
    const cfg = { issuer: 'https://idp', clientId: 'c', clientSecret: 'secret' };
    const deps = { managerUrl: () => 'http://m' } as ConstructorParameters<typeof Oidc>[1];
    expect(oidcPublicConfig(new Oidc(cfg, deps))).toEqual({ enabled: true, name: null });
    expect(oidcPublicConfig(new Oidc({ ...cfg, name: 'Corp SSO' }, deps))).toEqual({
      enabled: true,
      name: 'Corp SSO',
    });
  });
});
