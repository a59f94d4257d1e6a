/**
 * When a migration is given up: not after a fixed total (a save under a loaded host moves its
 * bytes slowly but steadily), but once QEMU reports no progress for `stallMs`; `totalMs` only
 * bounds a migration that keeps crawling forever.
 */
export interface MigrationLimits {
  /** No change in status or bytes sent for this long fails the migration. */
  stallMs: number;
  /** The migration fails past this however it progresses. */
  totalMs: number;
  /** How often QEMU is asked (`query-migrate`) how far it got. */
  pollMs: number;
}

/** The part of QMP's `query-migrate` answer progress is judged by. */
export interface MigrateInfo {
  status?: string;
  'error-desc'?: string;
  ram?: { transferred?: number; total?: number; remaining?: number };
}

const MIB = 2 ** 20;

/** "active, 12.0 of 128.0 MiB of RAM sent" (the incoming side reports no byte counts). */
export function describeMigration(s: MigrateInfo | null): string {
  if (!s) return 'QEMU did not answer query-migrate';
  const ram = s.ram;
  if (ram?.transferred === undefined) return `QEMU reports ${s.status ?? 'no status'}`;
  const total = ram.total !== undefined ? ` of ${(ram.total / MIB).toFixed(1)}` : '';
  return `QEMU reports ${s.status ?? 'no status'}, ${(ram.transferred / MIB).toFixed(1)}${total} MiB of RAM sent`;
}

/**
 * Tracks one migration's progress from successive `query-migrate` answers. `check` answers why
 * to give up (stalled, or past the total), or null while it goes on.
 */
export class MigrationWatch {
  private key: string | null = null;
  private movedAt: number;
  private last: MigrateInfo | null = null;

  constructor(
    private readonly limits: MigrationLimits,
    private readonly startedAt: number,
  ) {
    this.movedAt = startedAt;
  }

  /** Records an answer from QEMU taken at `now`. */
  observe(s: MigrateInfo, now: number): void {
    const key = `${s.status ?? ''}:${s.ram?.transferred ?? ''}:${s.ram?.remaining ?? ''}`;
    if (key !== this.key) {
      this.key = key;
      this.movedAt = now;
    }
    this.last = s;
  }

  check(now: number): string | null {
    if (now - this.startedAt >= this.limits.totalMs)
      return `timed out after ${Math.round((now - this.startedAt) / 1000)} s (${describeMigration(this.last)})`;
    if (now - this.movedAt >= this.limits.stallMs)
      return `stalled: no progress for ${Math.round((now - this.movedAt) / 1000)} s (${describeMigration(this.last)})`;
    return null;
  }
}
