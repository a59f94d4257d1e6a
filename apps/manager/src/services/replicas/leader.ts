import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Db } from '../../db/index.ts';

/** How long a lease lasts unless renewed; a dead leader is replaced within about this long. */
export const DEFAULT_LEASE_MS = 10_000;

export interface LeaderOptions {
  /** Lease length; renewed every third of it. */
  leaseMs?: number;
  /** This replica's id (default: random, per process). */
  id?: string;
  /** Where this replica's API listens (shown in the replica table; informative only). */
  url?: () => string;
  log: Logger;
}

/**
 * Which manager replica runs the background work (reconciler, timeouts, pool refills, schedules,
 * webhook delivery, sweeps). The leader holds one row of `manager_leases` whose expiry it pushes
 * forward every third of the lease; any replica takes the row over once its expiry has passed by
 * the database's clock. A lease row (not a session advisory lock) because it needs no connection
 * held open, so it works through transaction-pooling proxies and survives a reconnect; the price is
 * that a dead leader is replaced only when its lease runs out (`leaseMs`).
 *
 * A leader that cannot renew (database unreachable) stops considering itself leader once two
 * thirds of the lease have passed since its last successful renewal by its own clock, before any
 * other replica can take the row over by the database's. With PGlite there is one process: it is
 * always the leader. Emits 'change' (isLeader) when leadership moves to or from this replica.
 */
export class LeaderLease extends EventEmitter {
  readonly id: string;
  readonly leaseMs: number;
  private leading = false;
  private validUntil = 0;
  private timer: NodeJS.Timeout | null = null;
  private disposed = false;
  private round: Promise<void> | null = null;

  constructor(
    private readonly db: Db,
    private readonly o: LeaderOptions,
  ) {
    super();
    this.id = o.id ?? `mgr_${randomBytes(6).toString('hex')}`;
    this.leaseMs = Math.max(1500, o.leaseMs ?? DEFAULT_LEASE_MS);
  }

  get single(): boolean {
    return this.db.kind === 'pglite';
  }

  isLeader(): boolean {
    if (this.single) return true;
    return this.leading && Date.now() < this.validUntil;
  }

  /** Other replicas that renewed their presence within a lease (the `markAllOffline` decision). */
  async othersAlive(): Promise<string[]> {
    if (this.single) return [];
    const rows = await this.db.query<{ id: string }>(
      `SELECT id FROM manager_replicas WHERE id <> $1 AND seen_at > now() - ($2 * interval '1 millisecond')`,
      [this.id, this.leaseMs],
    );
    return rows.map((r) => r.id);
  }

  /** Takes part in the election (the first round now); PGlite: leader at once. */
  async start(): Promise<void> {
    if (this.single) {
      this.set(true);
      return;
    }
    await this.tick();
    this.timer = setInterval(() => void this.tick(), Math.floor(this.leaseMs / 3));
    this.timer.unref();
  }

  /** One round: renew presence, then take or renew the lease. Rounds never overlap. */
  tick(): Promise<void> {
    this.round ??= this.renew().finally(() => (this.round = null));
    return this.round;
  }

  private async renew(): Promise<void> {
    if (this.disposed) return;
    const started = Date.now();
    try {
      await this.db.query(
        `INSERT INTO manager_replicas (id, url, seen_at) VALUES ($1, $2, now())
         ON CONFLICT (id) DO UPDATE SET url = EXCLUDED.url, seen_at = now()`,
        [this.id, this.o.url?.() ?? ''],
      );
      const rows = await this.db.query<{ holder: string; epoch: number }>(
        `INSERT INTO manager_leases (name, holder, epoch, expires_at)
           VALUES ('leader', $1, 1, now() + ($2 * interval '1 millisecond'))
         ON CONFLICT (name) DO UPDATE SET
           holder = EXCLUDED.holder,
           epoch = manager_leases.epoch + CASE WHEN manager_leases.holder = EXCLUDED.holder THEN 0 ELSE 1 END,
           acquired_at = CASE WHEN manager_leases.holder = EXCLUDED.holder THEN manager_leases.acquired_at ELSE now() END,
           expires_at = EXCLUDED.expires_at
         WHERE manager_leases.holder = EXCLUDED.holder OR manager_leases.expires_at < now()
         RETURNING holder, epoch`,
        [this.id, this.leaseMs],
      );
      if (this.disposed) return;
      const mine = rows[0]?.holder === this.id;
      // Valid for two thirds of the lease from when this round began: the row's expiry (by the
      // database's clock) is a full lease from a moment after that.
      if (mine) this.validUntil = started + Math.floor((this.leaseMs * 2) / 3);
      if (mine !== this.leading) {
        this.o.log.info(
          { replica: this.id, epoch: rows[0]?.epoch ?? null },
          mine ? 'became leader' : 'another replica leads',
        );
      }
      this.set(mine);
    } catch (e) {
      // The database is away (a failover, a restart): keep leading only while the lease surely holds.
      this.o.log.warn({ replica: this.id, err: (e as Error).message }, 'renewing the leader lease failed');
      if (this.leading && Date.now() >= this.validUntil) {
        this.o.log.warn({ replica: this.id }, 'stepping down: the leader lease could not be renewed in time');
        this.set(false);
      }
    }
  }

  private set(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    this.emit('change', leading);
  }

  /** Leaves the election and releases the lease (another replica takes over at its next round). */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    if (this.timer) clearInterval(this.timer);
    await this.round?.catch(() => undefined);
    const was = this.leading;
    this.set(false);
    if (this.single) return;
    await this.db
      .query(
        was
          ? `DELETE FROM manager_leases WHERE name = 'leader' AND holder = $1`
          : `SELECT 1 WHERE $1::text IS NOT NULL`,
        [this.id],
      )
      .catch(() => undefined);
    await this.db.query(`DELETE FROM manager_replicas WHERE id = $1`, [this.id]).catch(() => undefined);
  }
}
