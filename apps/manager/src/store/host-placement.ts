import { HearthError, type PatchHostBody } from '@hearth/contract';
import { and, eq, ne, sql } from 'drizzle-orm';
import { unionAll } from 'drizzle-orm/pg-core';
import type { Orm } from '../db/db.ts';
import type { Db } from '../db/index.ts';
import { hosts, vms, volumes } from '../db/schema.ts';

/**
 * Disk promised on each host, MiB: the declared root disks of the VMs recorded there (every state
 * but `lost`: a stopped VM's disk stays on the host) and its volumes. Disks are sparse files that
 * may grow to their declared size, so placement admits a new one only where the free space holds
 * what is already promised as well (a subquery for the host store's reads).
 */
export function diskAllocations(orm: Orm) {
  const parts = unionAll(
    orm
      .select({ host_id: vms.host_id, mib: sql<number>`${vms.disk_mib}`.as('mib') })
      .from(vms)
      .where(ne(vms.state, 'lost')),
    orm.select({ host_id: volumes.host_id, mib: sql<number>`${volumes.size_mib}`.as('mib') }).from(volumes),
  ).as('dparts');
  return orm
    .select({ host_id: parts.host_id, mib: sql<number>`sum(${parts.mib})`.as('disk_mib') })
    .from(parts)
    .groupBy(parts.host_id)
    .as('d');
}

/**
 * Placement settings of hosts (labels, overcommit ratios) and what placement reads about VM
 * groups. Registration sets the agent's labels itself (HostCredentialStore.register).
 */
export class HostPlacementStore {
  constructor(private readonly db: Db) {}

  /**
   * Applies an administrator's change: labels merged (a null value removes the key), ratios
   * replaced (null: back to the manager's default). Returns the host id.
   */
  async patch(idOrName: string, body: PatchHostBody): Promise<string> {
    const labels = body.labels ?? {};
    const set = Object.fromEntries(Object.entries(labels).filter(([, v]) => v !== null));
    const drop = Object.keys(labels).filter((k) => labels[k] === null);
    const nothing =
      body.labels === undefined && body.cpuOvercommit === undefined && body.memoryOvercommit === undefined;
    // An empty change is no change: the host is only looked up.
    const rows = nothing
      ? await this.db.orm
          .select({ id: hosts.id })
          .from(hosts)
          .where(sql`${hosts.id} = ${idOrName} OR ${hosts.name} = ${idOrName}`)
      : await this.db.orm
          .update(hosts)
          .set({
            ...(body.labels && {
              labels: sql`(${hosts.labels} - ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(drop)}::jsonb))) || ${JSON.stringify(set)}::jsonb`,
            }),
            ...(body.cpuOvercommit !== undefined && { cpu_overcommit: body.cpuOvercommit }),
            ...(body.memoryOvercommit !== undefined && { memory_overcommit: body.memoryOvercommit }),
          })
          .where(sql`${hosts.id} = ${idOrName} OR ${hosts.name} = ${idOrName}`)
          .returning({ id: hosts.id });
    if (!rows[0]) {
      throw new HearthError(
        'HOST_NOT_FOUND',
        `Changing host "${idOrName}" failed: no host has that id or name.`,
      );
    }
    return rows[0].id;
  }

  /**
   * The hosts holding a VM of the project's anti-affinity group, with those VMs' names (every
   * state but `lost`: a stopped or failed member may start again where it is).
   */
  async groupHosts(project: string, group: string, tx: Orm = this.db.orm): Promise<Map<string, string[]>> {
    const rows = await tx
      .select({ host_id: vms.host_id, name: vms.name })
      .from(vms)
      .where(and(eq(vms.project, project), eq(vms.anti_affinity_group, group), ne(vms.state, 'lost')));
    const out = new Map<string, string[]>();
    for (const r of rows) if (r.host_id) out.set(r.host_id, [...(out.get(r.host_id) ?? []), r.name]);
    return out;
  }
}
