import { afterAll, beforeAll, describe } from 'vitest';
import type { HostInventory } from '@hearth/contract';
import { registerFakeHost } from './fake-host.ts';
import { pgSkipReason } from './pg.ts';
import { startPlatform, type Platform } from './platform.ts';

export type Backend = 'pglite' | 'postgres';

/**
 * Declares `name` once per database: `<name> on pglite` always, `<name> on postgres` against the
 * suite's PostgreSQL. Without one, CI fails (pg.ts) and elsewhere the PostgreSQL half is a skipped
 * suite whose name says why, never a silent PGlite-only run.
 */
export function describeOnBackends(name: string, body: (db: Backend) => void): void {
  describe(`${name} on pglite`, () => body('pglite'));
  const skip = pgSkipReason();
  if (skip) {
    console.warn(`${name} on postgres: skipped, ${skip}`);
    describe.skip(`${name} on postgres (skipped: ${skip})`, () => body('postgres'));
  } else describe(`${name} on postgres`, () => body('postgres'));
}

export interface InjectOptions {
  method: string;
  url: string;
  payload?: unknown;
  headers?: Record<string, string>;
}

export interface ApiPlatformOptions {
  db?: Backend;
  /** More settings for startPlatform (never an agent: API tests boot nothing). */
  platform?: Omit<NonNullable<Parameters<typeof startPlatform>[0]>, 'db' | 'agent'>;
  /** Name of the fake host registered at start (its agent URL answers nothing); null for none. */
  host?: string | null;
  inventory?: HostInventory;
}

/**
 * The manager API tests' harness: in the enclosing describe, starts a manager without an agent
 * (beforeAll), registers a fake host, and disposes of it all (afterAll). Requests go in-process
 * as the admin; the token is read per request, so a test may restart the manager.
 */
export function useApiPlatform(opts: ApiPlatformOptions = {}) {
  let platform: Platform | null = null;
  let agentToken = '';
  const h = {
    get p(): Platform {
      if (!platform) throw new Error('the API platform starts in beforeAll');
      return platform;
    },
    /** The fake host's agent token ('' without a host). */
    get agentToken() {
      return agentToken;
    },
    /** The admin's Authorization header for the manager running now. */
    admin: (): Record<string, string> => ({ authorization: `Bearer ${h.p.manager.adminToken}` }),
    inject: (o: InjectOptions) =>
      h.p.manager.app.inject({ ...o, headers: { ...h.admin(), ...o.headers } } as never),
    /** Rows in a table, straight from the database. */
    count: async (table: string) =>
      Number((await h.p.manager.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`))[0]!.n),
  };
  beforeAll(async () => {
    // The fake host's agent refuses every connection and never comes back: a call after the first
    // refusal fails at once instead of waiting for it (hostWaitMs). It never heartbeats either, and
    // stays ready as registered however long a busy machine takes over the file (hostOfflineMs),
    // unless a test asks otherwise.
    const platformOpts = opts.platform ?? {};
    platform = await startPlatform({
      ...platformOpts,
      manager: { hostWaitMs: 0, hostOfflineMs: 24 * 3600_000, ...platformOpts.manager },
      db: opts.db ?? 'pglite',
      agent: false,
    });
    if (opts.host !== null) {
      agentToken = await registerFakeHost(platform.manager, opts.host ?? 'fake-host', opts.inventory);
    }
  });
  afterAll(async () => {
    await platform?.dispose();
  });
  return h;
}
