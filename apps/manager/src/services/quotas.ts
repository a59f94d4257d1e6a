import { HearthError, QUOTA_NAMES, type ProjectQuotas, type QuotaName } from '@hearth/contract';
import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/index.ts';
import type { Orm } from '../db/db.ts';
import { usageOf } from '../store/usage.ts';

/** What a change adds to a project's use, per quota (absent or ≤ 0: adds nothing). */
export type QuotaNeed = Partial<Record<QuotaName, number>>;

/** Plain SQL with `$n` placeholders, run on a query builder (a transaction's, say). */
function plainQuery(q: Orm): Pick<Db, 'query'> {
  return {
    query: async <T>(text: string, params: unknown[] = []) => {
      const parts = text.split(/\$(\d+)/);
      const chunks: SQL[] = parts.map((p, i) => (i % 2 ? sql`${params[Number(p) - 1]}` : sql.raw(p)));
      const res = (await q.execute(sql.join(chunks))) as unknown as { rows: T[] };
      return res.rows;
    },
  };
}

/**
 * Per-project quotas. A write that adds to a project's use runs through `within`: one transaction
 * that locks the project's row (exclusively when a quota it adds to is limited, so concurrent
 * creates in such a project queue behind each other on PostgreSQL; PGlite is one connection
 * anyway), counts what the project uses, refuses with
 * QUOTA_EXCEEDED when the need does not fit, and otherwise makes the write. Counting and writing
 * in one transaction is what keeps parallel creates from overshooting.
 */
export class Quotas {
  /**
   * Each project's quotas as this process last read them under the lock: the guess of which lock
   * a write needs, in place of reading the row once more before the transaction. A wrong guess
   * costs no correctness: a limit it missed reruns the transaction exclusively, and a limit gone
   * meanwhile only takes the row exclusively once more.
   */
  private readonly seen = new Map<string, ProjectQuotas>();

  constructor(private readonly db: Pick<Db, 'orm'>) {}

  /**
   * Runs `write` (which must use the transaction it is given, never the store's own connection)
   * if `need` fits the project's quotas. `project` null (a global resource): no quota applies.
   * `what` opens the refusal's message ("Creating the VM"). `exclusive`: take the project's row
   * exclusively even when no quota applies (the caller's own check needs writes in the project
   * to queue, as the anti-affinity check of a create does).
   *
   * When none of the quotas `need` touches is limited, the row is only share-locked: such writes
   * run side by side, and a quota set meanwhile waits for them (its UPDATE needs the row), so
   * none is admitted under a limit it did not see. Which lock to take is guessed from the quotas
   * last read here (`seen`); a limit the guess missed reruns the transaction with the row locked
   * exclusively.
   */
  async within<T>(
    project: string | null,
    need: QuotaNeed,
    what: string,
    write: (tx: Orm) => Promise<T>,
    o: { exclusive?: boolean } = {},
  ): Promise<T> {
    const asked = QUOTA_NAMES.filter((q) => (need[q] ?? 0) > 0);
    if (project === null || asked.length === 0) return write(this.db.orm);
    let exclusive = o.exclusive === true || limitedBy(this.seen.get(project) ?? {}, need).length > 0;
    for (;;) {
      try {
        return await this.db.orm.transaction(async (tx) => {
          const quotas = await this.quotasOf(tx, project, exclusive ? 'update' : 'share');
          // Only a guess: dropping them all past many projects costs one rerun per project.
          if (this.seen.size >= SEEN_MAX && !this.seen.has(project)) this.seen.clear();
          this.seen.set(project, quotas);
          if (!exclusive && limitedBy(quotas, need).length > 0) throw new NeedsExclusive();
          await this.assertFits(tx, project, quotas, need, what);
          return write(tx);
        });
      } catch (e) {
        if (!(e instanceof NeedsExclusive)) throw e;
        exclusive = true;
      }
    }
  }

  /**
   * Checks without writing or holding anything: for a refusal before work outside the database
   * (a host applying ports) that `within` then confirms atomically.
   */
  async check(project: string | null, need: QuotaNeed, what: string): Promise<void> {
    if (project === null || !QUOTA_NAMES.some((q) => (need[q] ?? 0) > 0)) return;
    await this.assertFits(this.db.orm, project, await this.quotasOf(this.db.orm, project, null), need, what);
  }

  /** The project's quotas, its row locked as `lock` says (null: not locked). */
  private async quotasOf(q: Orm, project: string, lock: 'share' | 'update' | null): Promise<ProjectQuotas> {
    const mode = lock === 'update' ? sql`FOR UPDATE` : lock === 'share' ? sql`FOR SHARE` : sql``;
    const rows = (await q.execute(
      sql`SELECT quotas FROM projects WHERE name = ${project} ${mode}`,
    )) as unknown as { rows: { quotas: ProjectQuotas | null }[] };
    // A project without a row (a label from before projects existed) has no limits.
    return rows.rows[0]?.quotas ?? {};
  }

  private async assertFits(q: Orm, project: string, quotas: ProjectQuotas, need: QuotaNeed, what: string) {
    const limited = limitedBy(quotas, need);
    if (limited.length === 0) return;
    const used = await usageOf(plainQuery(q), project);
    for (const quota of limited) {
      const requested = need[quota]!;
      const limit = quotas[quota]!;
      if (used[quota] + requested > limit) {
        throw new HearthError(
          'QUOTA_EXCEEDED',
          `${what} failed: project "${project}" would exceed its ${quota} quota ` +
            `(${used[quota]} used + ${requested} requested > ${limit}).`,
          { detail: { quota, used: used[quota], requested, limit, project } },
        );
      }
    }
  }
}

/** Projects whose last-read quotas a process keeps as its guess of the lock to take. */
const SEEN_MAX = 10_000;

/** A limit the guess missed: `within` reruns with the row locked exclusively. */
class NeedsExclusive extends Error {}

/** The quotas `need` adds to that the project limits. */
function limitedBy(quotas: ProjectQuotas, need: QuotaNeed): QuotaName[] {
  return QUOTA_NAMES.filter((k) => (need[k] ?? 0) > 0 && typeof quotas[k] === 'number');
}

/** What a VM record claims of its project's quotas. */
export function vmNeed(v: {
  vcpus: number;
  memoryMib: number;
  diskMib: number;
  ports?: unknown[];
}): QuotaNeed {
  return {
    vms: 1,
    vcpus: v.vcpus,
    memoryMib: v.memoryMib,
    diskMib: v.diskMib,
    publishedPorts: v.ports?.length ?? 0,
  };
}
