import { createHash, randomBytes } from 'node:crypto';
import { newId } from '@hearth/contract';
import { and, eq } from 'drizzle-orm';
import type { Db } from '../db/index.ts';
import { tokens, type TokenKind } from '../db/schema.ts';

export type { TokenKind } from '../db/schema.ts';

export interface Principal {
  tokenId: string;
  kind: TokenKind;
  hostId: string | null;
}

const hash = (token: string) => createHash('sha256').update(token).digest('hex');

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
      .values({ id: newId('tok'), kind, name, hash: hash(token), host_id: hostId })
      .onConflictDoNothing({ target: tokens.hash });
    return token;
  }

  async verify(token: string): Promise<Principal | null> {
    const rows = await this.db.orm
      .select({ tokenId: tokens.id, kind: tokens.kind, hostId: tokens.host_id })
      .from(tokens)
      .where(eq(tokens.hash, hash(token)));
    return rows[0] ?? null;
  }

  async revokeAgentTokens(hostId: string): Promise<void> {
    await this.db.orm.delete(tokens).where(and(eq(tokens.kind, 'agent'), eq(tokens.host_id, hostId)));
  }
}
