import { HearthError } from '@hearth/contract';
import { and, desc, eq, inArray, lt, ne, sql } from 'drizzle-orm';
import type { Db } from '../db/index.ts';
import { hosts, snapshots } from '../db/schema.ts';
import { hostFences } from '../db/schema-fences.ts';
import type { HostRow } from './mappers.ts';

/**
 * Host lifecycle and failure records: cordons, hosts silent past the grace period, hosts an
 * operator declared dead, and the fences (VMs a returning dead host must destroy).
 */
export class HostFailureStore {
  constructor(private readonly db: Db) {}

  /** Sets or clears the cordon; null when no host has that id. */
  async setCordon(id: string, cordoned: boolean): Promise<HostRow | null> {
    const rows = await this.db.orm.update(hosts).set({ cordoned }).where(eq(hosts.id, id)).returning();
    return rows[0] ?? null;
  }

  /**
   * Hosts that were ready or offline and have not heartbeated for `graceMs` become unreachable;
   * returns them (their VMs are the caller's to mark unknown).
   */
  async markUnreachable(graceMs: number): Promise<{ id: string; name: string }[]> {
    return this.db.orm
      .update(hosts)
      .set({ state: 'unreachable' })
      .where(
        and(
          inArray(hosts.state, ['ready', 'offline']),
          lt(hosts.last_heartbeat_at, sql`now() - (${graceMs} * interval '1 millisecond')`),
        ),
      )
      .returning({ id: hosts.id, name: hosts.name });
  }

  /**
   * The operator's statement that the host is down: it becomes `dead` and cordoned, in one
   * statement against its current state. Refused (HOST_REACHABLE) while it is `ready`: a host that
   * heartbeats is not dead, and its VMs would run twice until the fence reached it.
   */
  async declareDead(id: string, name: string): Promise<HostRow> {
    const rows = await this.db.orm
      .update(hosts)
      .set({ state: 'dead', cordoned: true, dead_at: sql`COALESCE(${hosts.dead_at}, now())` })
      .where(and(eq(hosts.id, id), ne(hosts.state, 'ready')))
      .returning();
    if (rows[0]) return rows[0];
    throw new HearthError(
      'HOST_REACHABLE',
      `Declaring host ${name} dead failed: its agent is heartbeating (state ready); nothing was changed.`,
      { detail: { host: id } },
    );
  }

  /** Fences the VM on the host: should its agent come back with it, the VM is destroyed there. */
  async fence(hostId: string, vmId: string, reason: string): Promise<void> {
    await this.db.orm
      .insert(hostFences)
      .values({ host_id: hostId, vm_id: vmId, reason })
      .onConflictDoNothing();
  }

  fences(hostId: string): Promise<{ vm_id: string; reason: string }[]> {
    return this.db.orm
      .select({ vm_id: hostFences.vm_id, reason: hostFences.reason })
      .from(hostFences)
      .where(eq(hostFences.host_id, hostId));
  }

  async unfence(hostId: string, vmId: string): Promise<void> {
    await this.db.orm
      .delete(hostFences)
      .where(and(eq(hostFences.host_id, hostId), eq(hostFences.vm_id, vmId)));
  }

  /**
   * The VM's newest ready snapshot held by a host other than `deadHost` that is ready and not
   * cordoned (snapshot files live on the host that took them); null when there is none.
   */
  async reachableSnapshot(
    vmId: string,
    deadHost: string,
  ): Promise<{ id: string; host_id: string; kind: string } | null> {
    const rows = await this.db.orm
      .select({ id: snapshots.id, host_id: snapshots.host_id, kind: snapshots.kind })
      .from(snapshots)
      .innerJoin(hosts, eq(hosts.id, snapshots.host_id))
      .where(
        and(
          eq(snapshots.vm_id, vmId),
          eq(snapshots.state, 'ready'),
          ne(snapshots.host_id, deadHost),
          eq(hosts.state, 'ready'),
          eq(hosts.cordoned, false),
        ),
      )
      .orderBy(desc(snapshots.created_at))
      .limit(1);
    return rows[0] ?? null;
  }

  /** Whether the VM has any ready snapshot at all (to say why none could be used). */
  async anySnapshot(vmId: string): Promise<boolean> {
    const rows = await this.db.orm
      .select({ id: snapshots.id })
      .from(snapshots)
      .where(and(eq(snapshots.vm_id, vmId), eq(snapshots.state, 'ready')))
      .limit(1);
    return rows.length > 0;
  }
}
