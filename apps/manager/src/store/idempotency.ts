import { createHash, randomUUID } from 'node:crypto';
import { HearthError } from '@hearth/contract';
import { and, eq, lt, or, sql } from 'drizzle-orm';
import type { Db } from '../db/index.ts';
import { idempotencyKeys } from '../db/schema.ts';

/** `claim` names this request's hold on the key: only it completes or releases the key. */
export type Claim = { kind: 'new'; claim: string } | { kind: 'replay'; status: number; body: unknown };

export interface IdempotencyPolicy {
  /** A key (and its stored response) is forgotten this long after its first request. */
  retentionMs: number;
  /**
   * A first request still "in progress" after this long never finished (the manager stopped or
   * crashed mid-request): a retry takes the key over.
   */
  pendingMs: number;
}

/** Defaults of `HEARTH_IDEMPOTENCY_RETENTION` and `HEARTH_IDEMPOTENCY_PENDING_TIMEOUT`. */
export const DEFAULT_IDEMPOTENCY = { retention: '24h', pendingTimeout: '5m' } as const;

const ago = (ms: number) => sql`now() - (${ms} * interval '1 millisecond')`;

/** The manager process that claims keys: `replicaId#nonce`, and how fresh a live replica's presence is. */
export interface IdempotencyOwner {
  replica: string;
  process: string;
  aliveMs: number;
}

/**
 * Idempotency-Key handling: the first request with a key claims it; a retry with the same body
 * gets the stored response; the same key with another body, or while the first is still in
 * flight, is refused. Keys expire after the retention; a claim left "in progress" past the
 * pending timeout (its request died with the manager) is taken over by the next request.
 */
export class IdempotencyStore {
  private owner: IdempotencyOwner | null = null;

  constructor(
    private readonly db: Db,
    private readonly policy: IdempotencyPolicy = { retentionMs: 24 * 3_600_000, pendingMs: 5 * 60_000 },
  ) {}

  /**
   * Names this process on its claims. A claim in progress whose process is gone is then taken
   * over at once: its replica stopped renewing its presence, or it is this replica's predecessor
   * (the same replica id, another process) — rather than after the pending timeout.
   */
  setOwner(owner: IdempotencyOwner): void {
    this.owner = owner;
  }

  /** A claim in progress held by a manager process that is gone (false without an owner). */
  private orphaned() {
    const o = this.owner;
    if (!o) return sql`false`;
    const holder = sql`split_part(${idempotencyKeys.replica}, '#', 1)`;
    return sql`(${idempotencyKeys.replica} IS NOT NULL AND ${idempotencyKeys.replica} <> ${o.process} AND (
      ${holder} = ${o.replica} OR NOT EXISTS (
        SELECT 1 FROM manager_replicas r WHERE r.id = ${holder} AND r.seen_at > ${ago(o.aliveMs)})))`;
  }

  static hashBody(body: unknown): string {
    return createHash('sha256')
      .update(JSON.stringify(body ?? null))
      .digest('hex');
  }

  async claim(key: string, principal: string, requestHash: string, retry = true): Promise<Claim> {
    const claim = randomUUID();
    const inserted = await this.db.orm
      .insert(idempotencyKeys)
      .values({
        key,
        principal,
        request_hash: requestHash,
        status: 0,
        claim,
        replica: this.owner?.process ?? null,
      })
      .onConflictDoNothing()
      .returning({ key: idempotencyKeys.key });
    if (inserted.length) return { kind: 'new', claim };
    // An expired key, or a claim whose request never finished, is as good as absent: take it
    // over in one statement (two retries racing for it: one wins, the other sees it in progress).
    const taken = await this.db.orm
      .update(idempotencyKeys)
      .set({
        request_hash: requestHash,
        status: 0,
        response: null,
        claim,
        created_at: sql`now()`,
        replica: this.owner?.process ?? null,
      })
      .where(
        and(
          this.is(key, principal),
          or(
            lt(idempotencyKeys.created_at, ago(this.policy.retentionMs)),
            and(eq(idempotencyKeys.status, 0), lt(idempotencyKeys.created_at, ago(this.policy.pendingMs))),
            and(eq(idempotencyKeys.status, 0), this.orphaned()),
          ),
        ),
      )
      .returning({ key: idempotencyKeys.key });
    if (taken.length) return { kind: 'new', claim };
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
    if (!r) return retry ? this.claim(key, principal, requestHash, false) : { kind: 'new', claim };
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

  async complete(
    key: string,
    principal: string,
    claim: string,
    status: number,
    body: unknown,
  ): Promise<void> {
    await this.db.orm
      .update(idempotencyKeys)
      .set({ status, response: sql`${JSON.stringify(body) ?? null}::jsonb` })
      .where(and(this.is(key, principal), eq(idempotencyKeys.claim, claim)));
  }

  /** A failed first attempt must not poison the key: the client may retry it. */
  async release(key: string, principal: string, claim: string): Promise<void> {
    await this.db.orm
      .delete(idempotencyKeys)
      .where(and(this.is(key, principal), eq(idempotencyKeys.status, 0), eq(idempotencyKeys.claim, claim)));
  }

  /** Removes keys past the retention (they are ignored from that moment anyway); returns how many. */
  async sweep(): Promise<number> {
    const gone = await this.db.orm
      .delete(idempotencyKeys)
      .where(lt(idempotencyKeys.created_at, ago(this.policy.retentionMs)))
      .returning({ key: idempotencyKeys.key });
    return gone.length;
  }

  private is(key: string, principal: string) {
    return and(eq(idempotencyKeys.key, key), eq(idempotencyKeys.principal, principal));
  }
}
