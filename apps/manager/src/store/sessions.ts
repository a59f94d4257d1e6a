import { randomBytes } from 'node:crypto';
import { newId } from '@hearth/contract';
import { and, eq, gt, sql } from 'drizzle-orm';
import type { Db } from '../db/index.ts';
import { effectiveDefaultProject } from './users.ts';
import { sessions, users } from '../db/schema.ts';
import { notePrefetchedRole, type Principal } from '../auth/principal.ts';
import { roleColumns } from './projects.ts';
import { hashSecret } from './tokens.ts';

export interface NewSession {
  id: string;
  /** The cookie value, shown to the browser only; the table keeps its hash. */
  secret: string;
  csrf: string;
  expiresAt: Date;
}

/** How often a session's last-seen time is written, at most. */
const LAST_SEEN_RESOLUTION_MS = 60_000;

/** Browser sessions: a random secret in an HTTP-only cookie, stored hashed, with a CSRF value. */
export class SessionStore {
  constructor(private readonly db: Db) {}

  async create(
    userId: string,
    opts: { ttlMs: number; source?: string | null; userAgent?: string | null },
  ): Promise<NewSession> {
    const secret = `hth_ses_${randomBytes(32).toString('base64url')}`;
    const csrf = randomBytes(24).toString('base64url');
    const id = newId('ses');
    const expiresAt = new Date(Date.now() + opts.ttlMs);
    await this.db.orm.insert(sessions).values({
      id,
      hash: hashSecret(secret),
      user_id: userId,
      csrf,
      source: opts.source ?? null,
      user_agent: opts.userAgent?.slice(0, 300) ?? null,
      expires_at: expiresAt,
    });
    return { id, secret, csrf, expiresAt };
  }

  /**
   * The principal of a live session: not expired, not idle longer than `idleMs`, its user
   * enabled. Null otherwise. `project`: the project the request names, if any; the same query
   * reads the user's role there (or in their default project), for authorization.
   */
  async verify(secret: string, idleMs: number, project: string | null = null): Promise<Principal | null> {
    const acting =
      project !== null ? sql`${project}::text` : sql`coalesce(${effectiveDefaultProject}, 'default')`;
    const rows = await this.db.orm
      .select({
        id: sessions.id,
        csrf: sessions.csrf,
        lastSeen: sessions.last_seen_at,
        userId: users.id,
        name: users.name,
        admin: users.admin,
        disabled: users.disabled,
        defaultProject: effectiveDefaultProject,
        ...roleColumns(acting, sql`${users.id}`),
      })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.user_id))
      .where(and(eq(sessions.hash, hashSecret(secret)), gt(sessions.expires_at, sql`now()`)));
    const r = rows[0];
    if (!r || r.disabled) return null;
    const idle = Date.now() - r.lastSeen.getTime();
    if (idle > idleMs) {
      await this.delete(r.id);
      return null;
    }
    if (idle > LAST_SEEN_RESOLUTION_MS) {
      // Awaited (at most once per resolution period per session): a touch left in flight could
      // land after a later change to the row and make a session that has gone idle look fresh.
      await this.db.orm
        .update(sessions)
        .set({ last_seen_at: sql`now()` })
        .where(eq(sessions.id, r.id))
        .catch(() => undefined);
    }
    const principal: Principal = {
      kind: 'user',
      credentialId: r.id,
      tokenId: null,
      sessionId: r.id,
      userId: r.userId,
      name: r.name,
      admin: r.admin,
      hostId: null,
      ceiling: null,
      scope: null,
      via: 'session',
      csrf: r.csrf,
      defaultProject: r.defaultProject,
    };
    notePrefetchedRole(principal, {
      project: r.roleProject,
      exists: r.roleProjectExists,
      role: r.memberRole,
    });
    return principal;
  }

  async delete(id: string): Promise<void> {
    await this.db.orm.delete(sessions).where(eq(sessions.id, id));
  }

  async deleteForUser(userId: string): Promise<void> {
    await this.db.orm.delete(sessions).where(eq(sessions.user_id, userId));
  }

  /** Drops expired sessions (a periodic sweep; verify() already ignores them). */
  async sweep(): Promise<void> {
    await this.db.orm.delete(sessions).where(sql`${sessions.expires_at} <= now()`);
  }
}
