import type { ProjectUsage } from '@hearth/contract';
import type { Db } from '../db/index.ts';

/**
 * What a project uses, in the units of its quotas. Every VM record counts (a stopped VM keeps
 * its disk and its claim on the project's capacity) until it is deleted. `tx` lets a caller
 * count inside the transaction that then inserts, so concurrent creates cannot both pass.
 */
export async function usageOf(db: Pick<Db, 'query'>, project: string): Promise<ProjectUsage> {
  const rows = await db.query<Record<string, number>>(
    `SELECT
       (SELECT count(*)::int FROM vms WHERE project = $1) AS vms,
       (SELECT coalesce(sum(vcpus), 0)::int FROM vms WHERE project = $1) AS vcpus,
       (SELECT coalesce(sum(memory_mib), 0)::int FROM vms WHERE project = $1) AS "memoryMib",
       ((SELECT coalesce(sum(disk_mib), 0) FROM vms WHERE project = $1)
         + (SELECT coalesce(sum(size_mib), 0) FROM volumes WHERE project = $1))::int AS "diskMib",
       (SELECT count(*)::int FROM snapshots WHERE project = $1) AS snapshots,
       (SELECT count(*)::int FROM volumes WHERE project = $1) AS volumes,
       (SELECT count(*)::int FROM networks WHERE project = $1) AS networks,
       (SELECT coalesce(sum(jsonb_array_length(ports)), 0)::int FROM vms WHERE project = $1) AS "publishedPorts"`,
    [project],
  );
  return rows[0] as ProjectUsage;
}
