import { randomBytes } from 'node:crypto';
import { and, eq, gt, sql } from 'drizzle-orm';
import type { Db } from '../db/index.ts';
import { tickets } from '../db/schema.ts';
import type { Principal } from '../auth/principal.ts';
import { hashSecret } from './tokens.ts';

/**
 * Single-use tickets for one WebSocket or event stream: a random secret, stored hashed with the
 * principal it stands for, valid for seconds. Redeeming deletes it in the same statement, so two
 * connections can never share one.
 */
export class TicketStore {
  constructor(private readonly db: Db) {}

  async create(principal: Principal, ttlMs: number): Promise<{ ticket: string; expiresAt: Date }> {
    const ticket = `hth_tkt_${randomBytes(32).toString('base64url')}`;
    const expiresAt = new Date(Date.now() + ttlMs);
    // The CSRF value belongs to the session, not the ticket; everything else is who is calling.
    const stored: Record<string, unknown> = { ...principal, csrf: null, via: 'ticket' };
    await this.db.orm
      .insert(tickets)
      .values({ hash: hashSecret(ticket), principal: stored, expires_at: expiresAt });
    return { ticket, expiresAt };
  }

  /** The principal of a live ticket, which is used up by this call; null if unknown, used or expired. */
  async redeem(ticket: string): Promise<Principal | null> {
    const rows = await this.db.orm
      .delete(tickets)
      .where(and(eq(tickets.hash, hashSecret(ticket)), gt(tickets.expires_at, sql`now()`)))
      .returning({ principal: tickets.principal });
    return (rows[0]?.principal as Principal | undefined) ?? null;
  }

  /** Drops expired tickets (a periodic sweep; redeem() already ignores them). */
  async sweep(): Promise<void> {
    await this.db.orm.delete(tickets).where(sql`${tickets.expires_at} <= now()`);
  }
}
