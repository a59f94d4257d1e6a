import { randomBytes } from 'node:crypto';
import { HearthError, newId, type JoinToken } from '@hearth/contract';
import type { z } from 'zod';
import { and, asc, eq, gt, isNull, or, sql } from 'drizzle-orm';
import type { Db } from '../db/index.ts';
import type { Orm } from '../db/db.ts';
import { tokens } from '../db/schema.ts';
import { decodeCursor, pageResult } from './page.ts';
import { hashSecret, type TokenRow } from './tokens.ts';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function joinTokenFromRow(r: TokenRow): z.infer<typeof JoinToken> {
  return {
    id: r.id,
    name: r.name,
    createdAt: r.created_at.toISOString(),
    expiresAt: iso(r.expires_at),
    lastUsedAt: iso(r.last_used_at),
    usesLeft: r.uses_left,
  };
}

/** Why a join token cannot register a host, in words for the refusal; null when it can. */
function unusable(r: TokenRow | undefined, now = Date.now()): string | null {
  if (!r) return 'it is not a join token this manager issued (or a host credential it knows)';
  if (r.revoked_at) return `it was revoked at ${r.revoked_at.toISOString()}`;
  if (r.expires_at && r.expires_at.getTime() <= now) return `it expired at ${r.expires_at.toISOString()}`;
  if (r.uses_left !== null && r.uses_left <= 0) return 'it has been used up (no registrations left)';
  return null;
}

/**
 * Join tokens: per host (one use) or per batch (`uses`), expiring, revocable, stored as hashes.
 * The data directory's bootstrap token has neither a use limit nor an expiry (see manager.ts).
 */
export class JoinTokenStore {
  constructor(private readonly db: Db) {}

  async create(opts: {
    name: string;
    expiresAt: Date | null;
    uses: number | null;
  }): Promise<{ row: TokenRow; token: string }> {
    const token = `hth_join_${randomBytes(24).toString('base64url')}`;
    const rows = await this.db.orm
      .insert(tokens)
      .values({
        id: newId('tok'),
        kind: 'join',
        name: opts.name,
        hash: hashSecret(token),
        expires_at: opts.expiresAt,
        uses_left: opts.uses,
      })
      .returning();
    return { row: rows[0]!, token };
  }

  /** Join tokens not revoked, oldest first, a page at a time. */
  async list(limit: number, cursor?: string) {
    const after = decodeCursor(cursor);
    const rows = await this.db.orm
      .select()
      .from(tokens)
      .where(
        and(
          eq(tokens.kind, 'join'),
          isNull(tokens.revoked_at),
          after === null ? undefined : gt(tokens.id, after),
        ),
      )
      .orderBy(asc(tokens.id))
      .limit(limit + 1);
    return pageResult(rows, limit, (r) => r.id);
  }

  /** Revokes a join token by id (or by name when one token has it); TOKEN_NOT_FOUND otherwise. */
  async revoke(idOrName: string): Promise<void> {
    const rows = await this.db.orm
      .update(tokens)
      .set({ revoked_at: sql`now()` })
      .where(
        and(
          eq(tokens.kind, 'join'),
          isNull(tokens.revoked_at),
          or(eq(tokens.id, idOrName), eq(tokens.name, idOrName)),
        ),
      )
      .returning({ id: tokens.id });
    if (rows.length === 0) {
      throw new HearthError(
        'TOKEN_NOT_FOUND',
        `Revoking join token "${idOrName}" failed: no such join token.`,
      );
    }
  }

  /** Null when `secret` is a join token that may register a host now; otherwise why not. */
  async check(secret: string): Promise<string | null> {
    const rows = await this.db.orm
      .select()
      .from(tokens)
      .where(and(eq(tokens.hash, hashSecret(secret)), eq(tokens.kind, 'join')));
    return unusable(rows[0]);
  }

  /**
   * Takes one registration off a join token, inside the registration's transaction (so a refused
   * registration costs none); refuses with INVALID_JOIN_TOKEN saying why when none is left.
   */
  static async consume(tx: Orm, tokenId: string): Promise<void> {
    const used = await tx
      .update(tokens)
      .set({
        uses_left: sql`CASE WHEN ${tokens.uses_left} IS NULL THEN NULL ELSE ${tokens.uses_left} - 1 END`,
        last_used_at: sql`now()`,
      })
      .where(
        and(
          eq(tokens.id, tokenId),
          isNull(tokens.revoked_at),
          or(isNull(tokens.expires_at), gt(tokens.expires_at, sql`now()`)),
          or(isNull(tokens.uses_left), gt(tokens.uses_left, 0)),
        ),
      )
      .returning({ id: tokens.id });
    if (used.length) return;
    const row = (await tx.select().from(tokens).where(eq(tokens.id, tokenId)))[0];
    throw invalidJoinToken(unusable(row) ?? 'it was used up by a concurrent registration');
  }
}

export const invalidJoinToken = (why: string) =>
  new HearthError('INVALID_JOIN_TOKEN', `Registering the host failed: ${why}.`);
