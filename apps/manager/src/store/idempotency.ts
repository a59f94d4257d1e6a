import { createHash } from 'node:crypto';
import { HearthError } from '@hearth/contract';
import type { Db } from '../db/index.ts';

export type Claim = { kind: 'new' } | { kind: 'replay'; status: number; body: unknown };

/**
 * Idempotency-Key handling: the first request with a key claims it; a retry with the same body
 * gets the stored response; the same key with another body, or while the first is still in
 * flight, is refused.
 */
export class IdempotencyStore {
  constructor(private readonly db: Db) {}

  static hashBody(body: unknown): string {
    return createHash('sha256')
      .update(JSON.stringify(body ?? null))
      .digest('hex');
  }

  async claim(key: string, principal: string, requestHash: string, retry = true): Promise<Claim> {
    const inserted = await this.db.query(
      `INSERT INTO idempotency_keys (key, principal, request_hash, status) VALUES ($1,$2,$3,0)
       ON CONFLICT DO NOTHING RETURNING key`,
      [key, principal, requestHash],
    );
    if (inserted.length) return { kind: 'new' };
    const rows = await this.db.query<{ request_hash: string; status: number; response: unknown }>(
      'SELECT request_hash, status, response FROM idempotency_keys WHERE key = $1 AND principal = $2',
      [key, principal],
    );
    const r = rows[0];
    // The first request failed and released the key between our insert and this read: claim again.
    if (!r) return retry ? this.claim(key, principal, requestHash, false) : { kind: 'new' };
    if (r.request_hash !== requestHash) {
      throw new HearthError(
        'IDEMPOTENCY_KEY_REUSED',
        'Replaying the request failed: this Idempotency-Key was used with a different body.',
      );
    }
    if (r.status === 0) {
      throw new HearthError(
        'IDEMPOTENCY_KEY_REUSED',
        'Replaying the request failed: the first request with this Idempotency-Key is still in progress.',
        {
          hint: 'Retry in a moment; the first request will finish.',
        },
      );
    }
    return { kind: 'replay', status: r.status, body: r.response };
  }

  async complete(key: string, principal: string, status: number, body: unknown): Promise<void> {
    await this.db.query(
      'UPDATE idempotency_keys SET status = $3, response = $4::jsonb WHERE key = $1 AND principal = $2',
      [key, principal, status, JSON.stringify(body)],
    );
  }

  /** A failed first attempt must not poison the key: the client may retry it. */
  async release(key: string, principal: string): Promise<void> {
    await this.db.query('DELETE FROM idempotency_keys WHERE key = $1 AND principal = $2 AND status = 0', [
      key,
      principal,
    ]);
  }
}
