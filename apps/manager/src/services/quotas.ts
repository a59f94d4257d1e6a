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
 * that locks the project's row (so concurrent creates in one project queue behind each other on
 * PostgreSQL; PGlite is one connection anyway), counts what the project uses, refuses with
 * QUOTA_EXCEEDED when the need does not fit, and otherwise makes the write. Counting and writing
 * in one transaction is what keeps parallel creates from overshooting.
 */
export class Quotas {
  constructor(private readonly db: Pick<Db, 'orm'>) {}

  /**
   * Runs `write` (which must use the transaction it is given, never the store's own connection)
   * if `need` fits the project's quotas. `project` null (a global resource): no quota applies.
   * `what` opens the refusal's message ("Creating the VM").
   */
  async within<T>(
    project: string | null,
    need: QuotaNeed,
    what: string,
    write: (tx: Orm) => Promise<T>,
  ): Promise<T> {
    const asked = QUOTA_NAMES.filter((q) => (need[q] ?? 0) > 0);
    if (project === null || asked.length === 0) return write(this.db.orm);
    return this.db.orm.transaction(async (tx) => {
      await this.assertFits(tx, project, need, what, true);
      return write(tx);
    });
  }

  /**
   * Checks without writing or holding anything: for a refusal before work outside the database
   * (a host applying ports) that `within` then confirms atomically.
   */
  async check(project: string | null, need: QuotaNeed, what: string): Promise<void> {
    if (project === null || !QUOTA_NAMES.some((q) => (need[q] ?? 0) > 0)) return;
    await this.assertFits(this.db.orm, project, need, what, false);
  }

  private async assertFits(q: Orm, project: string, need: QuotaNeed, what: string, lock: boolean) {
    const rows = (await q.execute(
      sql`SELECT quotas FROM projects WHERE name = ${project} ${lock ? sql`FOR UPDATE` : sql``}`,
    )) as unknown as { rows: { quotas: ProjectQuotas | null }[] };
    // A project without a row (a label from before projects existed) has no limits.
    const quotas = rows.rows[0]?.quotas ?? {};
    const limited = QUOTA_NAMES.filter((k) => (need[k] ?? 0) > 0 && typeof quotas[k] === 'number');
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
