import { createHash } from 'node:crypto';
import { HearthError } from '@hearth/contract';
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/index.ts';
import { idempotencyKeys } from '../db/schema.ts';

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
    const inserted = await this.db.orm
      .insert(idempotencyKeys)
      .values({ key, principal, request_hash: requestHash, status: 0 })
      .onConflictDoNothing()
      .returning({ key: idempotencyKeys.key });
    if (inserted.length) return { kind: 'new' };
    const rows = await this.db.orm
      .select({
        request_hash: idempotencyKeys.request_hash,
        status: idempotencyKeys.status,
        // As the driver parsed it: a stored body that is a JSON string must stay a string.
        response: sql<unknown>`${idempotencyKeys.response}`,
      })
      .from(idempotencyKeys)
      .where(this.is(key, principal));
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
    await this.db.orm
      .update(idempotencyKeys)
      .set({ status, response: sql`${JSON.stringify(body) ?? null}::jsonb` })
      .where(this.is(key, principal));
  }

  /** A failed first attempt must not poison the key: the client may retry it. */
  async release(key: string, principal: string): Promise<void> {
    await this.db.orm
      .delete(idempotencyKeys)
      .where(and(this.is(key, principal), eq(idempotencyKeys.status, 0)));
  }

  private is(key: string, principal: string) {
    return and(eq(idempotencyKeys.key, key), eq(idempotencyKeys.principal, principal));
  }
}
