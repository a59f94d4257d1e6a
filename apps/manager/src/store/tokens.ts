import { createHash, randomBytes } from 'node:crypto';
import { newId } from '@hearth/contract';
import { and, eq, isNull, or, gt, sql } from 'drizzle-orm';
import type { Db } from '../db/index.ts';
import { tokens, users, type TokenKind } from '../db/schema.ts';
import type { Principal } from '../auth/principal.ts';

export type { TokenKind } from '../db/schema.ts';
export type TokenRow = typeof tokens.$inferSelect;

export const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

/** How often a token's last-used time is written, at most. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** Tokens are stored as sha256 hashes only; the secret is shown once, at creation. */
export class TokenStore {
  constructor(private readonly db: Db) {}

  async create(
    kind: TokenKind,
    name: string,
    hostId: string | null = null,
    secret?: string,
  ): Promise<string> {
    const token = secret ?? `hth_${kind}_${randomBytes(24).toString('base64url')}`;
    await this.db.orm
      .insert(tokens)
      .values({ id: newId('tok'), kind, name, hash: hashSecret(token), host_id: hostId })
      .onConflictDoNothing({ target: tokens.hash });
    return token;
  }

  /** A user's API token; the secret is returned once and stored as a hash. */
  async createForUser(
    userId: string,
    opts: { name: string; expiresAt?: Date | null; role?: TokenRow['role']; project?: string | null },
  ): Promise<{ id: string; token: string }> {
    const token = `hth_user_${randomBytes(24).toString('base64url')}`;
    const id = newId('tok');
    await this.db.orm.insert(tokens).values({
      id,
      kind: 'user',
      name: opts.name,
      hash: hashSecret(token),
      user_id: userId,
      expires_at: opts.expiresAt ?? null,
      role: opts.role ?? null,
      project: opts.project ?? null,
    });
    return { id, token };
  }

  /** The principal a bearer token stands for; null when unknown, expired or its user is disabled. */
  async verify(token: string): Promise<Principal | null> {
    const rows = await this.db.orm
      .select({
        id: tokens.id,
        kind: tokens.kind,
        hostId: tokens.host_id,
        userId: tokens.user_id,
        role: tokens.role,
        project: tokens.project,
        lastUsed: tokens.last_used_at,
        userName: users.name,
        admin: users.admin,
        disabled: users.disabled,
        defaultProject: users.default_project,
      })
      .from(tokens)
      .leftJoin(users, eq(users.id, tokens.user_id))
      .where(
        and(
          eq(tokens.hash, hashSecret(token)),
          or(isNull(tokens.expires_at), gt(tokens.expires_at, sql`now()`)),
        ),
      );
    const r = rows[0];
    if (!r) return null;
    if (r.kind === 'user' && (r.userName === null || r.disabled)) return null;
    if (!r.lastUsed || Date.now() - r.lastUsed.getTime() > LAST_USED_RESOLUTION_MS) {
      // Best effort: a lost last-used write must not fail the request it describes.
      void this.db.orm
        .update(tokens)
        .set({ last_used_at: sql`now()` })
        .where(eq(tokens.id, r.id))
        .catch(() => undefined);
    }
    const user = r.kind === 'user';
    return {
      kind: r.kind,
      credentialId: r.id,
      tokenId: r.id,
      sessionId: null,
      userId: r.userId,
      name: user ? r.userName! : r.kind === 'admin' ? 'bootstrap' : (r.hostId ?? r.id),
      admin: r.kind === 'admin' || (user && r.admin === true),
      hostId: r.hostId,
      ceiling: r.role,
      scope: r.project,
      via: 'token',
      csrf: null,
      defaultProject: user ? r.defaultProject : null,
    };
  }
}
