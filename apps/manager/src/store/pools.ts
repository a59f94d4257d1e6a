import type { BootProfile, Pool, PoolSpec } from '@hearth/contract';
import { eq, sql } from 'drizzle-orm';
import type { Db } from '../db/index.ts';
import { pools, vms, type VmGuest } from '../db/schema.ts';
import { Finder, notFound, tableRows } from './lookup.ts';
import type { VmRow } from './mappers.ts';

export type PoolRow = typeof pools.$inferSelect;

/** A pool's VMs by phase: booted and waiting, still booting (or failed, awaiting removal). */
export interface PoolCounts {
  ready: number;
  warming: number;
  failed: number;
}

/**
 * A VM still waiting in its pool: `pool` set and never handed out. A handed-out VM keeps the
 * pool's name, and its boot profile names the pool from the hand-out on: the take writes it, and
 * every later start's profile keeps it (`VmStore.transition`), so a restarted VM never counts as
 * waiting again (it would go back to `pooled`, to be handed to someone else).
 */
const WAITING = sql`(${vms.boot_profile} IS NULL OR ${vms.boot_profile}->>'pool' IS NULL)`;

/** The same test on a row: a pool VM not handed out yet (its `running` is `pooled`). */
export function waitsInPool(row: Pick<VmRow, 'pool' | 'boot_profile'>): boolean {
  return row.pool !== null && !row.boot_profile?.pool;
}

export function poolFromRow(r: PoolRow, c: PoolCounts): Pool {
  const served = r.hits + r.misses;
  return {
    id: r.id,
    name: r.name,
    project: r.project,
    spec: r.spec,
    mode: r.mode,
    size: r.size,
    ready: c.ready,
    warming: c.warming,
    hits: r.hits,
    misses: r.misses,
    hitRate: served ? r.hits / served : null,
    lastError: r.last_error,
    snapshot: r.snapshot_id,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  };
}

/** What a hand-out changes on the VM it takes, in the same statement that takes it. */
export interface HandOut {
  name: string;
  env: Record<string, string>;
  labels: Record<string, string>;
  users: VmGuest['users'];
  timeout: string | null;
  boot: BootProfile;
}

export class PoolStore {
  private readonly find: Finder<PoolRow>;
  /** VMs no take may hand out for now (see `hold`). */
  private readonly held = new Set<string>();

  constructor(private readonly db: Db) {
    this.find = new Finder<PoolRow>(pools, tableRows(this.db.orm, pools), notFound('POOL_NOT_FOUND', 'pool'));
  }

  async insert(
    p: Omit<PoolRow, 'created_at' | 'updated_at' | 'hits' | 'misses' | 'last_error' | 'snapshot_id'>,
  ) {
    const rows = await this.db.orm.insert(pools).values(p).returning();
    return rows[0]!;
  }

  /** By id or name inside `project` (a user lookup). */
  require(idOrName: string, project: string): Promise<PoolRow> {
    return this.find.require(idOrName, project);
  }

  getUnscoped(id: string): Promise<PoolRow | null> {
    return this.find.getUnscoped(id);
  }

  list(f: { project: string; limit: number; cursor?: string | undefined }) {
    return this.find.page(f, [this.find.inProject(f.project)]);
  }

  /** Every pool of every project (the refill loop). */
  all(): Promise<PoolRow[]> {
    return this.find.all([sql`${pools.created_at}`]);
  }

  async update(id: string, patch: { size?: number | undefined; spec?: PoolSpec | undefined }) {
    const rows = await this.db.orm
      .update(pools)
      .set({ size: patch.size, spec: patch.spec, updated_at: sql`now()` })
      .where(eq(pools.id, id))
      .returning();
    return rows[0]!;
  }

  async delete(id: string): Promise<void> {
    await this.db.orm.delete(pools).where(eq(pools.id, id));
  }

  async count(id: string, outcome: 'hit' | 'miss'): Promise<void> {
    const col = outcome === 'hit' ? pools.hits : pools.misses;
    await this.db.orm
      .update(pools)
      .set({ [outcome === 'hit' ? 'hits' : 'misses']: sql`${col} + 1` })
      .where(eq(pools.id, id));
  }

  /** The snapshot a `snapshot` pool restores from (null: none yet, or dropped with its spec). */
  async setSnapshot(id: string, snapshotId: string | null): Promise<void> {
    await this.db.orm.update(pools).set({ snapshot_id: snapshotId }).where(eq(pools.id, id));
  }

  async setError(id: string, error: string | null): Promise<void> {
    await this.db.orm.update(pools).set({ last_error: error }).where(eq(pools.id, id));
  }

  /** Ready, warming and failed VMs of each pool of `project` (by pool name). */
  async counts(project: string, names: string[]): Promise<Map<string, PoolCounts>> {
    const out = new Map<string, PoolCounts>(names.map((n) => [n, { ready: 0, warming: 0, failed: 0 }]));
    if (!names.length) return out;
    const rows = (await this.db.orm.execute(sql`
      SELECT ${vms.pool} AS pool, ${vms.state} AS state, count(*)::int AS n FROM ${vms}
      WHERE ${vms.project} = ${project} AND ${vms.pool} IS NOT NULL AND ${WAITING}
      GROUP BY ${vms.pool}, ${vms.state}`)) as unknown as {
      rows: { pool: string; state: string; n: number }[];
    };
    for (const r of rows.rows) {
      const c = out.get(r.pool);
      if (!c) continue;
      if (r.state === 'pooled') c.ready += r.n;
      else if (r.state === 'failed') c.failed += r.n;
      else if (r.state !== 'deleting') c.warming += r.n;
    }
    return out;
  }

  /** The VMs waiting in a pool (any state but handed out), oldest first. */
  async waiting(project: string, pool: string): Promise<VmRow[]> {
    return this.db.orm
      .select()
      .from(vms)
      .where(sql`${vms.project} = ${project} AND ${vms.pool} = ${pool} AND ${WAITING}`)
      .orderBy(vms.created_at);
  }

  /**
   * Hosts with a VM booting (any VM: a user's boot counts as much as a pool's) or being handed out
   * (taken from its pool, not yet personalized): a refill boot there would take the CPU that a
   * user's create is waiting on.
   */
  async bootingHosts(): Promise<Set<string>> {
    const rows = (await this.db.orm.execute(
      sql`SELECT DISTINCT host_id FROM ${vms} WHERE host_id IS NOT NULL AND (
        (state IN ('creating', 'created', 'starting') AND (state <> 'created' OR pool IS NOT NULL))
        OR (state = 'pooled' AND NOT ${WAITING}))`,
    )) as unknown as { rows: { host_id: string }[] };
    return new Set(rows.rows.map((r) => r.host_id));
  }

  /** Marks a VM as one of `pool`'s (before its first boot). */
  async adopt(vmId: string, pool: string): Promise<void> {
    await this.db.orm.update(vms).set({ pool }).where(eq(vms.id, vmId));
  }

  /**
   * Takes one ready VM of the pool and makes it the requested one (name, env, labels, users; its
   * boot profile marks it handed out, so no other take sees it) in one statement; the caller
   * then personalizes it and moves it to `running`. The row is picked with FOR UPDATE SKIP LOCKED, so concurrent
   * takes on PostgreSQL each get another VM instead of queueing on the same row; the state test
   * in the UPDATE keeps it correct even where SKIP LOCKED has nothing to skip (PGlite: one
   * connection). Null when the pool has none ready.
   */
  async take(project: string, pool: string, h: HandOut): Promise<string | null> {
    const rows = (await this.db.orm.execute(sql`
      UPDATE ${vms} SET
        name = ${h.name}, env = ${JSON.stringify(h.env)}::jsonb, labels = ${JSON.stringify(h.labels)}::jsonb,
        guest = jsonb_set(guest, '{users}', ${JSON.stringify(h.users)}::jsonb), timeout = ${h.timeout},
        boot_profile = ${JSON.stringify(h.boot)}::jsonb, updated_at = now()
      WHERE id = (
        SELECT id FROM ${vms}
        WHERE project = ${project} AND pool = ${pool} AND state = 'pooled' AND ${WAITING} ${this.notHeld()}
        ORDER BY created_at LIMIT 1
        FOR UPDATE SKIP LOCKED
      ) AND state = 'pooled' AND ${WAITING}
      RETURNING id`)) as unknown as { rows: { id: string }[] };
    return rows.rows[0]?.id ?? null;
  }

  /**
   * Runs `fn` while no take hands `vmId` out, and only if it is still waiting, `pooled`, when
   * held (null otherwise): a snapshot pool snapshotting its first VM must not save a hand-out's
   * request (a user's name, credentials) into the memory every later VM is restored from.
   */
  async hold<T>(vmId: string, fn: () => Promise<T>): Promise<T | null> {
    this.held.add(vmId);
    try {
      const rows = await this.db.orm
        .select({ id: vms.id })
        .from(vms)
        .where(sql`${vms.id} = ${vmId} AND ${vms.state} = 'pooled' AND ${WAITING}`);
      return rows.length ? await fn() : null;
    } finally {
      this.held.delete(vmId);
    }
  }

  private notHeld() {
    const ids = [...this.held];
    return ids.length
      ? sql`AND id NOT IN (${sql.join(
          ids.map((i) => sql`${i}`),
          sql`, `,
        )})`
      : sql``;
  }

  /** The boot profile of a VM (a hand-out's final timing, a miss's `cold` source). */
  async setBoot(vmId: string, boot: BootProfile): Promise<void> {
    await this.db.orm.update(vms).set({ boot_profile: boot }).where(eq(vms.id, vmId));
  }
}
