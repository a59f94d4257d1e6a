import { HearthError } from '@hearth/contract';
import type { Logger } from 'pino';
import { isUniqueViolation, type Db } from '../db/index.ts';
import type { Stores } from '../store/index.ts';
import { userByOidc } from '../store/oidc-users.ts';
import type { UserRow } from '../store/users.ts';
import type { OidcConfig } from './oidc-config.ts';
import { DEFAULT_PROJECT } from './authority.ts';

/** What the provider said about the person (ID token claims, then UserInfo). */
export type Claims = Record<string, unknown> & { sub: string };

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? v.trim() : undefined);

/**
 * A user name (a DNS label) from the provider's claims: `preferred_username`, else the local
 * part of `email`, else `name`, lower-cased, accents dropped, other characters made dashes.
 */
export function userNameFrom(claims: Claims): string {
  const email = str(claims.email);
  const raw = str(claims.preferred_username) ?? email?.split('@')[0] ?? str(claims.name) ?? 'user';
  const label = raw
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 55)
    .replace(/-+$/, '');
  return label || 'user';
}

/** Whether the configured admin claim holds the admin group; null when none is configured. */
export function isAdminBy(cfg: OidcConfig, claims: Claims): boolean | null {
  if (!cfg.adminGroup) return null;
  const v = claims[cfg.adminClaim ?? 'groups'];
  const values = Array.isArray(v) ? v : [v];
  return values.some((x) => x === cfg.adminGroup);
}

/** How many numbered names (`alice-2`, `alice-3`, …) are tried before a random suffix. */
const NUMBERED_NAMES = 20;

/**
 * The user a provider's subject signs in as: found by (issuer, subject), else created with a
 * name made from its claims (numbered when taken: a local `alice` is never taken over by a
 * provider's `alice`). Its profile and, when configured, its admin flag follow the claims.
 */
export async function oidcUser(
  deps: { db: Db; stores: Pick<Stores, 'users' | 'projects'>; log: Logger },
  cfg: OidcConfig,
  issuer: string,
  claims: Claims,
): Promise<UserRow> {
  const admin = isAdminBy(cfg, claims);
  const profile = { display_name: str(claims.name) ?? '', email: str(claims.email) ?? null };
  const found = await userByOidc(deps.db, issuer, claims.sub);
  if (found) {
    const patch = {
      ...(profile.display_name !== found.display_name ? { display_name: profile.display_name } : {}),
      ...(profile.email !== found.email ? { email: profile.email } : {}),
      ...(admin !== null && admin !== found.admin ? { admin } : {}),
    };
    // A disabled user stays as it is: the caller refuses it.
    if (found.disabled || Object.keys(patch).length === 0) return found;
    return deps.stores.users.patch(found.id, patch);
  }
  const base = userNameFrom(claims);
  const candidates = [base, ...Array.from({ length: NUMBERED_NAMES - 1 }, (_, i) => `${base}-${i + 2}`)];
  candidates.push(`${base}-${Math.random().toString(36).slice(2, 8)}`);
  for (const name of candidates) {
    try {
      const user = await deps.stores.users.create({
        name,
        ...profile,
        admin: admin ?? false,
        oidc_issuer: issuer,
        oidc_subject: claims.sub,
      });
      if (cfg.defaultRole) await deps.stores.projects.setMember(DEFAULT_PROJECT, user.id, cfg.defaultRole);
      deps.log.info({ user: user.name, issuer }, 'created a user at first single sign-on');
      return user;
    } catch (e) {
      if (e instanceof HearthError && e.code === 'USER_NAME_TAKEN') continue;
      // The same subject's first sign-in, twice at once: the other one created it.
      if (isUniqueViolation(e, 'users_oidc')) {
        const raced = await userByOidc(deps.db, issuer, claims.sub);
        if (raced) return raced;
      }
      throw e;
    }
  }
  throw new HearthError('OIDC_FAILED', `Signing in failed: no free user name like "${base}".`);
}
