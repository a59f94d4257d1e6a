import { createHash, randomBytes } from 'node:crypto';
import { newId } from '@hearth/contract';
import type { Db } from '../db/index.ts';

export type TokenKind = 'admin' | 'join' | 'agent';

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
    await this.db.query(
      'INSERT INTO tokens (id, kind, name, hash, host_id) VALUES ($1,$2,$3,$4,$5) ON CONFLICT (hash) DO NOTHING',
      [newId('tok'), kind, name, hash(token), hostId],
    );
    return token;
  }

  async verify(token: string): Promise<Principal | null> {
    const rows = await this.db.query<{ id: string; kind: TokenKind; host_id: string | null }>(
      'SELECT id, kind, host_id FROM tokens WHERE hash = $1',
      [hash(token)],
    );
    const r = rows[0];
    return r ? { tokenId: r.id, kind: r.kind, hostId: r.host_id } : null;
  }

  async revokeAgentTokens(hostId: string): Promise<void> {
    await this.db.query("DELETE FROM tokens WHERE kind = 'agent' AND host_id = $1", [hostId]);
  }
}
