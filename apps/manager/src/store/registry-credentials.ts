import type { z } from 'zod';
import { HearthError, type RegistryCredential } from '@hearth/contract';
import { and, asc, eq, gt, sql } from 'drizzle-orm';
import type { Db } from '../db/index.ts';
import { registryCredentials } from '../db/schema.ts';
import { encodeCursor } from './page.ts';

export type RegistryCredentialRow = typeof registryCredentials.$inferSelect;

/** The public view: never the password, sealed or not. */
export function registryCredentialFromRow(r: RegistryCredentialRow): z.infer<typeof RegistryCredential> {
  return {
    registry: r.registry,
    username: r.username,
    project: r.project,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  };
}

/** A registry host as stored: lower-case host[:port] (or [IPv6][:port]). */
export const REGISTRY_HOST =
  /^(?:[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/;

export function notFoundCredential(registry: string): HearthError {
  return new HearthError(
    'REGISTRY_CREDENTIAL_NOT_FOUND',
    `Finding the credentials for registry "${registry}" failed: none are stored in this project.`,
  );
}

/** Registry credentials per project and registry host; the password column holds sealed text only. */
export class RegistryCredentialStore {
  constructor(private readonly db: Db) {}

  /** Creates or replaces the credentials of `registry` in `project`. */
  async put(r: {
    project: string;
    registry: string;
    username: string;
    passwordSealed: string;
  }): Promise<RegistryCredentialRow> {
    const rows = await this.db.orm
      .insert(registryCredentials)
      .values({
        project: r.project,
        registry: r.registry,
        username: r.username,
        password_sealed: r.passwordSealed,
      })
      .onConflictDoUpdate({
        target: [registryCredentials.project, registryCredentials.registry],
        set: { username: r.username, password_sealed: r.passwordSealed, updated_at: sql`now()` },
      })
      .returning();
    return rows[0]!;
  }

  async get(project: string, registry: string): Promise<RegistryCredentialRow | null> {
    const rows = await this.db.orm
      .select()
      .from(registryCredentials)
      .where(and(eq(registryCredentials.project, project), eq(registryCredentials.registry, registry)));
    return rows[0] ?? null;
  }

  /** A page of `project`'s credentials in registry order. */
  async list(f: { project: string; limit: number; cursor?: string | undefined }) {
    const after = decodeRegistryCursor(f.cursor);
    const rows = await this.db.orm
      .select()
      .from(registryCredentials)
      .where(
        and(
          eq(registryCredentials.project, f.project),
          after === null ? undefined : gt(registryCredentials.registry, after),
        ),
      )
      .orderBy(asc(registryCredentials.registry))
      .limit(f.limit + 1);
    const items = rows.slice(0, f.limit);
    return {
      items,
      nextCursor: rows.length > f.limit ? encodeCursor(items[items.length - 1]!.registry) : null,
    };
  }

  /** Deletes and returns the row; REGISTRY_CREDENTIAL_NOT_FOUND when there is none. */
  async delete(project: string, registry: string): Promise<RegistryCredentialRow> {
    const rows = await this.db.orm
      .delete(registryCredentials)
      .where(and(eq(registryCredentials.project, project), eq(registryCredentials.registry, registry)))
      .returning();
    if (!rows[0]) throw notFoundCredential(registry);
    return rows[0];
  }
}

function decodeRegistryCursor(cursor: string | undefined): string | null {
  if (!cursor) return null;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!REGISTRY_HOST.test(text)) {
    throw new HearthError(
      'VALIDATION_FAILED',
      'Reading the page cursor failed: it is not one this server issued.',
      {
        fields: { cursor: ['invalid cursor'] },
      },
    );
  }
  return text;
}
