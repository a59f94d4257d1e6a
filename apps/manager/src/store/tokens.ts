import { createHash, randomBytes } from 'node:crypto';
import { newId, type ApiToken } from '@hearth/contract';
import { and, asc, eq, gt, inArray, isNotNull, isNull, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/index.ts';
import { effectiveDefaultProject } from './users.ts';
import { tokens, users, type TokenKind } from '../db/schema.ts';
import { notePrefetchedRole, type Principal } from '../auth/principal.ts';
import { roleColumns } from './projects.ts';
import { outer } from './lookup.ts';
import { decodeCursor, pageResult } from './page.ts';

export type { TokenKind } from '../db/schema.ts';
export type TokenRow = typeof tokens.$inferSelect;

export const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

/** Why a bearer token was refused: never seen (or revoked), past its expiry, or its user disabled. */
export type TokenRefusal = 'unknown' | 'expired' | 'disabled';
export type TokenCheck =
  { principal: Principal; refusal?: undefined } | { principal: null; refusal: TokenRefusal };

/** The columns of a listed token, with its user's name. */
const listed = {
  id: tokens.id,
  name: tokens.name,
  userId: tokens.user_id,
  userName: users.name,
  kind: tokens.kind,
  role: tokens.role,
  project: tokens.project,
  createdAt: tokens.created_at,
  expiresAt: tokens.expires_at,
  lastUsedAt: tokens.last_used_at,
};
interface ListedRow {
  id: string;
  name: string;
  userId: string | null;
  userName: string | null;
  kind: TokenKind;
  role: TokenRow['role'];
  project: string | null;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
}

const iso = (d: Date | null) => (d === null ? null : new Date(d).toISOString());

/** The API form of a token: never its secret or hash. */
export function tokenFromRow(r: ListedRow): ApiToken {
  return {
    id: r.id,
    name: r.name,
    userId: r.userId,
    userName: r.userName,
    kind: r.kind === 'admin' ? 'admin' : 'user',
    role: r.role,
    project: r.project,
    createdAt: iso(r.createdAt)!,
    expiresAt: iso(r.expiresAt),
    lastUsedAt: iso(r.lastUsedAt),
  };
}

/** Tokens people hold (user tokens and the bootstrap admin token), not host credentials. */
const PERSONAL = inArray(tokens.kind, ['user', 'admin']);

/** How often a token's last-used time is written, at most. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** Tokens are stored as sha256 hashes only; the secret is shown once, at creation. */
export class TokenStore {
  /**
   * The credential check runs on every request: prepared once (a named statement per connection
   * on PostgreSQL, so the server parses and plans it once), in two forms: the role read in the
   * project the request names, or in the token's or user's default one.
   */
  private readonly checkIn;
  private readonly checkDefault;

  constructor(private readonly db: Db) {
    this.checkIn = this.checkQuery(sql`${sql.placeholder('project')}::text`).prepare('token_check_in');
    this.checkDefault = this.checkQuery(
      sql`coalesce(${outer(tokens.project)}, ${effectiveDefaultProject}, 'default')`,
    ).prepare('token_check_default');
  }

  private checkQuery(acting: SQL) {
    return this.db.orm
      .select({
        id: tokens.id,
        kind: tokens.kind,
        hostId: tokens.host_id,
        userId: tokens.user_id,
        role: tokens.role,
        project: tokens.project,
        lastUsed: tokens.last_used_at,
        // The database's clock decides, so that every manager agrees on expiry.
        expired: sql<boolean>`coalesce(${tokens.expires_at} <= now(), false)`,
        userName: users.name,
        admin: users.admin,
        disabled: users.disabled,
        defaultProject: effectiveDefaultProject,
        ...roleColumns(acting, outer(tokens.user_id)),
      })
      .from(tokens)
      .leftJoin(users, eq(users.id, tokens.user_id))
      .where(and(eq(tokens.hash, sql.placeholder('hash')), isNull(tokens.revoked_at)));
  }

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
    opts: {
      name: string;
      expiresAt?: Date | null;
      role?: TokenRow['role'];
      project?: string | null;
      /** `e2b`: the shape E2B SDKs check an API key against (`e2b_` and 40 hex digits). */
      format?: 'hearth' | 'e2b' | undefined;
    },
  ): Promise<{ id: string; token: string }> {
    const token =
      opts.format === 'e2b'
        ? `e2b_${randomBytes(20).toString('hex')}`
        : `hth_user_${randomBytes(24).toString('base64url')}`;
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

  /** The principal a bearer token stands for; null when unknown, revoked, expired or its user is disabled. */
  async verify(token: string): Promise<Principal | null> {
    return (await this.check(token)).principal;
  }

  /**
   * Like `verify`, with the reason for a refusal (an expired token is told apart from an unknown
   * one). `project`: the project the request names, if any; the same query reads the caller's
   * role there (or in the token's scope or the user's default project), for authorization.
   */
  async check(token: string, project: string | null = null): Promise<TokenCheck> {
    const rows =
      project !== null
        ? await this.checkIn.execute({ hash: hashSecret(token), project })
        : await this.checkDefault.execute({ hash: hashSecret(token) });
    const r = rows[0];
    if (!r) return { principal: null, refusal: 'unknown' };
    if (r.expired) return { principal: null, refusal: 'expired' };
    if (r.kind === 'user' && r.userName === null) return { principal: null, refusal: 'unknown' };
    if (r.kind === 'user' && r.disabled) return { principal: null, refusal: 'disabled' };
    if (!r.lastUsed || Date.now() - r.lastUsed.getTime() > LAST_USED_RESOLUTION_MS) {
      // Best effort: a lost last-used write must not fail the request it describes.
      void this.db.orm
        .update(tokens)
        .set({ last_used_at: sql`now()` })
        .where(eq(tokens.id, r.id))
        .catch(() => undefined);
    }
    const user = r.kind === 'user';
    const principal: Principal = {
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
    notePrefetchedRole(principal, {
      project: r.roleProject,
      exists: r.roleProjectExists,
      role: r.memberRole,
    });
    return { principal };
  }

  /** One personal token (user or bootstrap admin), not revoked; null when there is none. */
  async get(id: string): Promise<ApiToken | null> {
    const rows = await this.listedRows(eq(tokens.id, id), 1);
    return rows[0] ? tokenFromRow(rows[0]) : null;
  }

  /** A page of personal tokens: one user's, the bootstrap admin token, or all of them. */
  async list(
    q: { limit: number; cursor?: string | undefined },
    of: { userId: string } | { bootstrap: true } | { all: true },
  ) {
    const after = decodeCursor(q.cursor);
    const whose =
      'userId' in of
        ? eq(tokens.user_id, of.userId)
        : 'bootstrap' in of
          ? eq(tokens.kind, 'admin')
          : undefined;
    const rows = await this.listedRows(and(whose, after ? gt(tokens.id, after) : undefined), q.limit + 1);
    const page = pageResult(rows, q.limit, (r) => r.id);
    return { items: page.items.map(tokenFromRow), nextCursor: page.nextCursor };
  }

  private listedRows(where: SQL | undefined, limit: number): Promise<ListedRow[]> {
    return this.db.orm
      .select(listed)
      .from(tokens)
      .leftJoin(users, eq(users.id, tokens.user_id))
      .where(and(PERSONAL, isNull(tokens.revoked_at), where))
      .orderBy(asc(tokens.id))
      .limit(limit);
  }

  /**
   * Revokes a personal token. A user token is deleted; the bootstrap admin token keeps its row,
   * marked revoked, so that no later start issues a new one (see `bootstrapRevoked`).
   * False when there is no such token.
   */
  async revoke(id: string): Promise<boolean> {
    const marked = await this.db.orm
      .update(tokens)
      .set({ revoked_at: sql`now()` })
      .where(and(eq(tokens.id, id), eq(tokens.kind, 'admin'), isNull(tokens.revoked_at)))
      .returning({ id: tokens.id });
    if (marked.length) return true;
    const gone = await this.db.orm
      .delete(tokens)
      .where(and(eq(tokens.id, id), eq(tokens.kind, 'user')))
      .returning({ id: tokens.id });
    return gone.length > 0;
  }

  /** Whether a bootstrap admin token was ever revoked: then none is issued again. */
  async bootstrapRevoked(): Promise<boolean> {
    const rows = await this.db.orm
      .select({ id: tokens.id })
      .from(tokens)
      .where(and(eq(tokens.kind, 'admin'), isNotNull(tokens.revoked_at)))
      .limit(1);
    return rows.length > 0;
  }
}
