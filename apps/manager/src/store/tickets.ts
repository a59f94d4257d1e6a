import { randomBytes } from 'node:crypto';
import { and, eq, gt, sql } from 'drizzle-orm';
import type { Db } from '../db/index.ts';
import { sessions, tickets, users } from '../db/schema.ts';
import { proxyPasses } from '../db/schema-access.ts';
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

  /**
   * A proxy pass: like a ticket, a random secret stored hashed with its principal, but for one
   * port of one VM and reusable until it expires (a page loads many resources through it).
   */
  async createPass(
    principal: Principal,
    target: { vmId: string; port: number; project: string },
    ttlMs: number,
  ): Promise<{ pass: string; expiresAt: Date }> {
    const pass = `hth_pxy_${randomBytes(32).toString('base64url')}`;
    const expiresAt = new Date(Date.now() + ttlMs);
    const stored: Record<string, unknown> = { ...principal, csrf: null, via: 'ticket' };
    await this.db.orm.insert(proxyPasses).values({
      hash: hashSecret(pass),
      vm_id: target.vmId,
      port: target.port,
      project: target.project,
      principal: stored,
      expires_at: expiresAt,
    });
    return { pass, expiresAt };
  }

  /**
   * What a live pass opens and for whom; null if unknown or expired, or if the credential it was
   * made with has gone: its user disabled, or the browser session signed out (a pass lasts at
   * most as long as the sign-in that made it).
   */
  async readPass(
    pass: string,
  ): Promise<{ principal: Principal; vmId: string; port: number; project: string } | null> {
    // One read: the pass, with its maker's user and browser session when it names them.
    const userId = sql`${proxyPasses.principal}->>'userId'`;
    const sessionId = sql`${proxyPasses.principal}->>'sessionId'`;
    const rows = await this.db.orm
      .select({
        principal: proxyPasses.principal,
        vmId: proxyPasses.vm_id,
        port: proxyPasses.port,
        project: proxyPasses.project,
        disabled: users.disabled,
        userFound: users.id,
        sessionFound: sessions.id,
      })
      .from(proxyPasses)
      .leftJoin(users, eq(users.id, userId))
      .leftJoin(sessions, and(eq(sessions.id, sessionId), gt(sessions.expires_at, sql`now()`)))
      .where(and(eq(proxyPasses.hash, hashSecret(pass)), gt(proxyPasses.expires_at, sql`now()`)));
    const r = rows[0];
    if (!r) return null;
    const principal = r.principal as unknown as Principal;
    if (principal.userId && (!r.userFound || r.disabled)) return null;
    if (principal.sessionId && !r.sessionFound) return null;
    return { principal, vmId: r.vmId, port: r.port, project: r.project };
  }

  /** Drops expired tickets and passes (a periodic sweep; redeem() and readPass() ignore them). */
  async sweep(): Promise<void> {
    await this.db.orm.delete(tickets).where(sql`${tickets.expires_at} <= now()`);
    await this.db.orm.delete(proxyPasses).where(sql`${proxyPasses.expires_at} <= now()`);
  }
}
