import { type SnapshotSchedule } from '@hearth/contract';
import { and, asc, eq, isNotNull, lte, sql } from 'drizzle-orm';
import type { Db } from '../db/index.ts';
import { snapshotSchedules, snapshots, vms } from '../db/schema.ts';
import { Finder, notFound, tableRows } from './lookup.ts';

export type ScheduleRow = typeof snapshotSchedules.$inferSelect;
export type NewSchedule = Omit<ScheduleRow, 'created_at' | 'last_run_at' | 'last_error'>;

const UNITS = { m: 60, h: 3600, d: 86_400, w: 604_800 } as const;

/** `7d` → seconds; the contract has checked the shape. */
export function ageSeconds(maxAge: string): number {
  return Number(maxAge.slice(0, -1)) * UNITS[maxAge.slice(-1) as keyof typeof UNITS];
}

/** Seconds → the largest unit that divides them (what `ageSeconds` read back). */
function ageText(s: number): string {
  for (const u of ['w', 'd', 'h'] as const) if (s % UNITS[u] === 0) return `${s / UNITS[u]}${u}`;
  return `${s / 60}m`;
}

export function scheduleFromRow(r: ScheduleRow): SnapshotSchedule {
  const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
  return {
    id: r.id,
    name: r.name,
    project: r.project,
    vm: r.vm_id,
    selector: r.selector ?? null,
    cron: r.cron,
    retention: {
      ...(r.keep_count !== null ? { count: r.keep_count } : {}),
      ...(r.keep_age_s !== null ? { maxAge: ageText(r.keep_age_s) } : {}),
    },
    memory: r.memory,
    enabled: r.enabled,
    nextRunAt: iso(r.next_run_at),
    lastRunAt: iso(r.last_run_at),
    lastError: r.last_error,
    createdAt: new Date(r.created_at).toISOString(),
  };
}

export class ScheduleStore {
  private readonly find: Finder<ScheduleRow>;

  constructor(private readonly db: Db) {
    this.find = new Finder<ScheduleRow>(
      snapshotSchedules,
      tableRows(this.db.orm, snapshotSchedules),
      notFound('SCHEDULE_NOT_FOUND', 'snapshot schedule'),
    );
  }

  async insert(s: NewSchedule): Promise<ScheduleRow> {
    const rows = await this.db.orm.insert(snapshotSchedules).values(s).returning();
    return rows[0]!;
  }

  require(idOrName: string, project: string): Promise<ScheduleRow> {
    return this.find.require(idOrName, project);
  }

  list(f: { project: string; vm?: string | undefined; limit: number; cursor?: string | undefined }) {
    return this.find.page(f, [
      this.find.inProject(f.project),
      f.vm ? eq(snapshotSchedules.vm_id, f.vm) : undefined,
    ]);
  }

  /** Enabled schedules whose next run is at or before `now`, oldest due first. */
  due(now: Date, limit = 50): Promise<ScheduleRow[]> {
    return this.db.orm
      .select()
      .from(snapshotSchedules)
      .where(
        and(
          eq(snapshotSchedules.enabled, true),
          isNotNull(snapshotSchedules.next_run_at),
          lte(snapshotSchedules.next_run_at, now),
        ),
      )
      .orderBy(asc(snapshotSchedules.next_run_at))
      .limit(limit);
  }

  /**
   * Moves a schedule past a run: only when its next run is still the one this run served, so two
   * schedulers (a leader change) never run it twice. False when another one got there first.
   */
  async claim(id: string, dueAt: Date, next: Date | null, now: Date): Promise<boolean> {
    const rows = await this.db.orm
      .update(snapshotSchedules)
      .set({ next_run_at: next, last_run_at: now })
      .where(and(eq(snapshotSchedules.id, id), eq(snapshotSchedules.next_run_at, dueAt)))
      .returning({ id: snapshotSchedules.id });
    return rows.length > 0;
  }

  /** Changes a schedule's settings; the caller computed `next_run_at` for what it changed. */
  async update(
    id: string,
    set: Partial<
      Pick<ScheduleRow, 'cron' | 'keep_count' | 'keep_age_s' | 'memory' | 'enabled' | 'next_run_at'>
    >,
  ): Promise<ScheduleRow> {
    const rows = await this.db.orm
      .update(snapshotSchedules)
      .set(set)
      .where(eq(snapshotSchedules.id, id))
      .returning();
    return rows[0]!;
  }

  async setError(id: string, error: string | null): Promise<void> {
    await this.db.orm
      .update(snapshotSchedules)
      .set({ last_error: error })
      .where(eq(snapshotSchedules.id, id));
  }

  async delete(id: string): Promise<void> {
    await this.db.orm.delete(snapshotSchedules).where(eq(snapshotSchedules.id, id));
  }

  /** Ids of the project's VMs carrying every label of `selector` (jsonb containment). */
  async vmsMatching(project: string, selector: Record<string, string>): Promise<string[]> {
    const rows = await this.db.orm
      .select({ id: vms.id })
      .from(vms)
      .where(and(eq(vms.project, project), sql`${vms.labels} @> ${JSON.stringify(selector)}::jsonb`))
      .orderBy(asc(vms.id));
    return rows.map((r) => r.id);
  }

  /** The schedule's snapshots of one VM, newest first: what retention looks at. */
  async snapshotsOf(
    scheduleId: string,
    vmId: string,
  ): Promise<{ id: string; name: string; created_at: Date }[]> {
    return this.db.orm
      .select({ id: snapshots.id, name: snapshots.name, created_at: snapshots.created_at })
      .from(snapshots)
      .where(and(eq(snapshots.schedule_id, scheduleId), eq(snapshots.vm_id, vmId)))
      .orderBy(sql`${snapshots.created_at} DESC, ${snapshots.id} DESC`);
  }
}
