import { PROJECT_ROLES, type ProjectRole } from '@hearth/contract';

/** Single sign-on with an OpenID Connect provider (authorization code + PKCE). */
export interface OidcConfig {
  /** The provider's issuer URL; its discovery document is read on first use. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Registered at the provider; default `<manager URL>/v1/auth/oidc/callback`. */
  redirectUrl?: string;
  /** The sign-in button's label ("Sign in with <name>"). */
  name?: string;
  /** Scopes asked for; default openid, profile, email. `openid` is always added. */
  scopes?: string[];
  /**
   * A user whose `adminClaim` claim (a string or a list of strings, default `groups`) holds
   * `adminGroup` is a platform administrator; one whose claim lacks it is not. Set at each
   * sign-in, so the provider stays the source of truth. Unset: sign-in never changes `admin`.
   */
  adminGroup?: string;
  adminClaim?: string;
  /** The role a user created at first sign-in gets in project `default`; default none. */
  defaultRole?: ProjectRole;
}

export const DEFAULT_OIDC_SCOPES = ['openid', 'profile', 'email'];

type Env = Record<string, string | undefined>;

/**
 * The OIDC settings from `HEARTH_OIDC_*` variables: null when no issuer is set. A partial
 * configuration (an issuer without a client, say) is refused at start rather than at first sign-in.
 */
export function oidcConfigFromEnv(env: Env): OidcConfig | null {
  const get = (k: string) => env[`HEARTH_OIDC_${k}`]?.trim() || undefined;
  const issuer = get('ISSUER');
  const clientId = get('CLIENT_ID');
  const clientSecret = get('CLIENT_SECRET');
  if (!issuer && !clientId && !clientSecret) return null;
  const missing = [
    ['HEARTH_OIDC_ISSUER', issuer],
    ['HEARTH_OIDC_CLIENT_ID', clientId],
    ['HEARTH_OIDC_CLIENT_SECRET', clientSecret],
  ]
    .filter(([, v]) => !v)
    .map(([k]) => k);
  if (missing.length) {
    throw new Error(`Single sign-on is half configured: set ${missing.join(' and ')} too, or none of them.`);
  }
  const cfg: OidcConfig = { issuer: issuer!, clientId: clientId!, clientSecret: clientSecret! };
  const redirectUrl = get('REDIRECT_URL');
  const name = get('NAME');
  const scopes = get('SCOPES');
  const adminGroup = get('ADMIN_GROUP');
  const adminClaim = get('ADMIN_CLAIM');
  const defaultRole = get('DEFAULT_ROLE');
  if (redirectUrl) cfg.redirectUrl = redirectUrl;
  if (name) cfg.name = name;
  if (scopes) cfg.scopes = scopes.split(/[\s,]+/).filter(Boolean);
  if (adminGroup) cfg.adminGroup = adminGroup;
  if (adminClaim) cfg.adminClaim = adminClaim;
  if (defaultRole) {
    if (!(PROJECT_ROLES as readonly string[]).includes(defaultRole)) {
      throw new Error(`HEARTH_OIDC_DEFAULT_ROLE must be one of ${PROJECT_ROLES.join(', ')}.`);
    }
    cfg.defaultRole = defaultRole as ProjectRole;
  }
  checkOidcConfig(cfg);
  return cfg;
}

/** Refuses settings that could never work, at start. */
export function checkOidcConfig(cfg: OidcConfig): void {
  for (const [what, v] of [
    ['issuer', cfg.issuer],
    ['redirect URL', cfg.redirectUrl],
  ] as const) {
    if (v === undefined) continue;
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      throw new Error(`The single sign-on ${what} "${v}" is not a URL.`);
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') {
      throw new Error(`The single sign-on ${what} "${v}" must be an http(s) URL.`);
    }
  }
}
