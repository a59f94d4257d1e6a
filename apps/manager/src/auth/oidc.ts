import { HearthError } from '@hearth/contract';
import * as client from 'openid-client';
import type { Logger } from 'pino';
import type { Db } from '../db/index.ts';
import type { Stores } from '../store/index.ts';
import type { UserRow } from '../store/users.ts';
import { DEFAULT_OIDC_SCOPES, type OidcConfig } from './oidc-config.ts';
import { oidcUser, type Claims } from './oidc-accounts.ts';
import { PendingSignIns } from './oidc-pending.ts';

export const OIDC_CALLBACK_PATH = '/v1/auth/oidc/callback';
/** Browser sessions from single sign-on last this long unless the manager says otherwise. */
export const DEFAULT_SESSION_TTL_MS = 7 * 24 * 3600_000;
/** How long discovery, token and UserInfo calls to the provider may take. */
const PROVIDER_TIMEOUT_S = 15;

export interface OidcDeps {
  db: Db;
  stores: Pick<Stores, 'users' | 'projects'>;
  log: Logger;
  /** The manager's own URL (known once it listens): the default redirect URL's origin. */
  managerUrl: () => string;
}

/**
 * Single sign-on with an OpenID Connect provider: authorization code flow with PKCE (S256),
 * state and nonce. The provider's metadata is discovered on first use (and again after a
 * failure), so a manager starts even while its provider is down.
 */
export class Oidc {
  readonly pending = new PendingSignIns();
  private discovered: Promise<client.Configuration> | null = null;

  constructor(
    readonly cfg: OidcConfig,
    private readonly deps: OidcDeps,
  ) {}

  get redirectUrl(): string {
    return this.cfg.redirectUrl ?? `${this.deps.managerUrl()}${OIDC_CALLBACK_PATH}`;
  }

  /** The provider's configuration, discovered once; a failed discovery is retried next time. */
  private configuration(): Promise<client.Configuration> {
    this.discovered ??= this.discover().catch((e: unknown) => {
      this.discovered = null;
      throw e;
    });
    return this.discovered;
  }

  private async discover(): Promise<client.Configuration> {
    const issuer = new URL(this.cfg.issuer);
    try {
      return await client.discovery(
        issuer,
        this.cfg.clientId,
        { redirect_uris: [this.redirectUrl], response_types: ['code'] },
        client.ClientSecretBasic(this.cfg.clientSecret),
        {
          timeout: PROVIDER_TIMEOUT_S,
          execute: [
            // ID token signatures are checked against the provider's keys, not only trusted
            // because TLS brought them: a plain-HTTP issuer has no TLS to lean on.
            client.enableNonRepudiationChecks,
            // The operator chose a plain-HTTP issuer (a provider on this machine or a lab network).
            ...(issuer.protocol === 'http:' ? [client.allowInsecureRequests] : []),
          ],
        },
      );
    } catch (e) {
      const cause = describe(e);
      this.deps.log.warn({ issuer: this.cfg.issuer, cause }, 'single sign-on discovery failed');
      throw new HearthError(
        'OIDC_PROVIDER_UNREACHABLE',
        `Reading the identity provider's configuration from ${this.cfg.issuer} failed: ${cause}.`,
        { detail: { issuer: this.cfg.issuer, cause }, cause: e },
      );
    }
  }

  /** The provider's authorization URL for a new sign-in, and its state (the flow's key). */
  async start(returnTo: string): Promise<{ url: string; state: string }> {
    const config = await this.configuration();
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const scopes = new Set(['openid', ...(this.cfg.scopes ?? DEFAULT_OIDC_SCOPES)]);
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUrl,
      scope: [...scopes].join(' '),
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    this.pending.add(state, { verifier, nonce, returnTo });
    return { url: url.href, state };
  }

  /**
   * Completes a sign-in from the provider's redirect: the state must be one this manager issued
   * to this browser (`browserState`, from its cookie) and not used yet; the code is exchanged with
   * its PKCE verifier, and the ID token checked (signature, issuer, audience, expiry, nonce).
   */
  async finish(
    query: Record<string, string | undefined>,
    browserState: string | null,
  ): Promise<{ user: UserRow; returnTo: string }> {
    if (query.error) {
      const detail = { error: query.error, description: query.error_description ?? null };
      throw new HearthError(
        'OIDC_FAILED',
        `Signing in failed: the identity provider answered ${query.error}${query.error_description ? ` (${query.error_description})` : ''}.`,
        { detail },
      );
    }
    const state = query.state;
    if (!state || !query.code) {
      throw new HearthError('OIDC_FAILED', 'Signing in failed: the callback has no code or state.');
    }
    // Taken (and so used up) before anything else: a replayed callback finds nothing.
    const flow = this.pending.take(state);
    if (!flow || browserState !== state) {
      throw new HearthError(
        'OIDC_FAILED',
        'Signing in failed: the callback does not belong to a sign-in this browser started here (unknown, expired or already used).',
      );
    }
    const config = await this.configuration();
    const current = new URL(this.redirectUrl);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) current.searchParams.set(k, v);
    let claims: Claims;
    try {
      const tokens = await client.authorizationCodeGrant(
        config,
        current,
        {
          pkceCodeVerifier: flow.verifier,
          expectedState: state,
          expectedNonce: flow.nonce,
          idTokenExpected: true,
        },
        { redirect_uri: this.redirectUrl },
      );
      const idClaims = tokens.claims();
      if (!idClaims) throw new Error('the token response has no ID token');
      claims = { ...idClaims, sub: idClaims.sub };
      if (config.serverMetadata().userinfo_endpoint) {
        const info = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);
        claims = { ...info, ...claims };
      }
    } catch (e) {
      const cause = describe(e);
      this.deps.log.warn({ cause }, 'single sign-on callback refused');
      throw new HearthError('OIDC_FAILED', `Signing in failed: ${cause}.`, { detail: { cause }, cause: e });
    }
    const issuer = config.serverMetadata().issuer;
    const user = await oidcUser(this.deps, this.cfg, issuer, claims);
    if (user.disabled) {
      throw new HearthError('USER_DISABLED', `Signing in as "${user.name}" failed: the account is disabled.`);
    }
    await this.deps.stores.users.touchSignIn(user.id);
    return { user, returnTo: flow.returnTo };
  }
}

/** A provider error in words, never with tokens or codes in it. */
function describe(e: unknown): string {
  if (e instanceof client.AuthorizationResponseError || e instanceof client.ResponseBodyError) {
    return `${e.error}${e.error_description ? ` (${e.error_description})` : ''}`;
  }
  if (e instanceof Error) {
    const cause = e.cause instanceof Error ? `: ${e.cause.message}` : '';
    return `${e.message}${cause}`;
  }
  return String(e);
}

/** What the sign-in page needs to know: whether single sign-on is on, and its button's label. */
export function oidcPublicConfig(oidc: Oidc | null | undefined): { enabled: boolean; name: string | null } {
  return { enabled: !!oidc, name: oidc ? (oidc.cfg.name ?? null) : null };
}
