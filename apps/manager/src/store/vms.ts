import {
  HearthError,
  newId,
  type AppStatus,
  type LastMigration,
  type PortMapping,
  type Vm,
  type VmState,
} from '@hearth/contract';
import { and, asc, desc, eq, gt, inArray, isNotNull, like, ne, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/index.ts';
import type { Orm } from '../db/db.ts';
import { snapshots, vmEvents, vmNics, vms, volumes } from '../db/schema.ts';
import { Finder, notFound, tableRows } from './lookup.ts';
import { decodeCursor, pageResult } from './page.ts';
import type { EventRow, VmRow } from './mappers.ts';
import { expiredRunning, vmsOnHost, vmsToReconcile } from './vm-scans.ts';
import { type NewVm, type StatePatch, type VmFilter, type VmPatch, type VmSet } from './vm-shapes.ts';

export type { VmGuest } from '../db/schema.ts';

export type { NewVm, StatePatch, VmFilter, VmPatch } from './vm-shapes.ts';
export { vmPatchColumns } from './vm-shapes.ts';

const bumped = { updated_at: sql`now()` };

export class VmStore {
  private readonly find: Finder<VmRow>;

  constructor(private readonly db: Db) {
    this.find = new Finder<VmRow>(vms, tableRows(this.db.orm, vms), notFound('VM_NOT_FOUND', 'VM'));
  }

  /** `tx`: inside a caller's transaction (a quota check's). */
  async insert(v: NewVm, tx: Orm = this.db.orm): Promise<VmRow> {
    const rows = await tx.insert(vms).values(this.values(v)).returning();
    return rows[0]!;
  }

  /**
   * A new VM recorded whole, in the caller's transaction (its quota check's): the row already in
   * the state it leaves creation in, its NICs, and its history as two events (created, then the
   * move out of `creating`), each a single statement.
   */
  async insertCreated(
    v: NewVm,
    nics: { rows: (typeof vmNics.$inferInsert)[]; mirror: Vm['networks'] },
    history: { actor: string; created: string; reason: string | null },
    tx: Orm,
  ): Promise<VmRow> {
    const first = nics.rows[0];
    const [row] = await tx
      .insert(vms)
      .values({
        ...this.values(v),
        state_reason: history.reason,
        ip: nics.rows.find((n) => n.ip)?.ip ?? null,
        mac: first?.mac ?? null,
        nics: nics.mirror,
      })
      .returning();
    if (nics.rows.length) await tx.insert(vmNics).values(nics.rows);
    await tx.insert(vmEvents).values([
      {
        id: newId('evt'),
        vm_id: v.id,
        type: 'created',
        to_state: 'creating',
        actor: history.actor,
        reason: history.created,
      },
      {
        id: newId('evt'),
        vm_id: v.id,
        type: 'state',
        from_state: 'creating',
        to_state: v.state,
        actor: history.actor,
        reason: history.reason,
      },
    ]);
    return row!;
  }

  private values(v: NewVm) {
    return {
      id: v.id,
      name: v.name,
      project: v.project,
      state: v.state,
      desired_state: v.desiredState,
      vcpus: v.vcpus,
      memory_mib: v.memoryMib,
      disk_mib: v.diskMib,
      image_id: v.imageId,
      kernel_id: v.kernelId,
      vmm: v.vmm,
      host_id: v.hostId,
      ip: v.ip,
      mac: v.mac,
      env: v.env,
      labels: v.labels,
      timeout: v.timeout,
      guest: v.guest,
      snapshot_id: v.snapshotId,
      ports: v.ports ?? [],
      egress: v.egress ?? null,
      bandwidth_mbit: v.bandwidthMbit ?? null,
      dns_aliases: v.dnsAliases ?? [],
      host_selector: v.hostSelector ?? {},
      anti_affinity_group: v.antiAffinityGroup ?? null,
      restart_policy: v.restartPolicy ?? 'no',
      drain_policy: v.drainPolicy ?? 'migrate',
    };
  }

  /** Ports already published on a host by other VMs, for conflict checks. */
  portsOnHost(
    hostId: string,
    exceptVm: string | null,
  ): Promise<{ id: string; name: string; ports: PortMapping[] }[]> {
    return this.db.orm
      .select({ id: vms.id, name: vms.name, ports: vms.ports })
      .from(vms)
      .where(
        and(
          eq(vms.host_id, hostId),
          exceptVm === null ? undefined : ne(vms.id, exceptVm),
          sql`jsonb_array_length(${vms.ports}) > 0`,
        ),
      );
  }

  async setSnapshotOrigin(id: string, snapshotId: string | null): Promise<void> {
    await this.db.orm.update(vms).set({ snapshot_id: snapshotId }).where(eq(vms.id, id));
  }

  /** By id or name inside `project` (a user lookup). */
  get(idOrName: string, project: string): Promise<VmRow | null> {
    return this.find.get(idOrName, project);
  }

  require(idOrName: string, project: string): Promise<VmRow> {
    return this.find.require(idOrName, project);
  }

  /** By id in any project: internal paths only (agents, reconciliation, rows already read). */
  getUnscoped(id: string): Promise<VmRow | null> {
    return this.find.getUnscoped(id);
  }

  requireUnscoped(id: string): Promise<VmRow> {
    return this.find.requireUnscoped(id);
  }

  list(f: VmFilter) {
    const prefix = f.name?.replace(/[%_\\]/g, (c) => '\\' + c);
    return this.find.page(f, [
      f.state ? eq(vms.state, f.state as VmState) : undefined,
      f.host ? eq(vms.host_id, f.host) : undefined,
      eq(vms.project, f.project),
      prefix ? like(vms.name, `${prefix}%`) : undefined,
    ]);
  }

  all(): Promise<VmRow[]> {
    return this.db.orm.select().from(vms).orderBy(asc(vms.id));
  }

  onHost(hostId: string): Promise<VmRow[]> {
    return vmsOnHost(this.db.orm, hostId);
  }

  /** Running VMs past their timeout. */
  expiredRunning(): Promise<VmRow[]> {
    return expiredRunning(this.db.orm);
  }

  /** What a heartbeat checks (vm-scans.ts): reported VMs and those not at rest. */
  toReconcile(hostId: string, reported: string[], resting: readonly VmState[]): Promise<VmRow[]> {
    return vmsToReconcile(this.db.orm, hostId, reported, resting);
  }

  async usedIps(): Promise<string[]> {
    const rows = await this.db.orm.select({ ip: vms.ip }).from(vms).where(isNotNull(vms.ip));
    return rows.map((r) => r.ip!);
  }

  /**
   * Moves a VM from `from` to `to` only if it is still in `from` (optimistic concurrency) and
   * records the event in the same transaction. Returns null when the VM moved on meanwhile.
   */
  async transition(
    id: string,
    from: VmState,
    to: VmState,
    actor: string,
    patch: StatePatch = {},
  ): Promise<{ vm: VmRow; event: EventRow } | null> {
    return this.db.orm.transaction(async (tx) => {
      const set: VmSet = {
        state: to,
        state_reason: patch.reason,
        pid: patch.pid,
        accel: patch.accel,
        started_at: patch.startedAt,
        stop_at: patch.stopAt,
        desired_state: patch.desiredState,
        boot_profile: patch.bootProfile === null ? null : undefined,
        host_id: patch.hostId,
        vmm: patch.vmm,
        // A new boot: the last boot's app status (stopped, exited) says nothing about this one.
        ...(to === 'starting' ? { app: null } : {}),
      };
      const [vm] = await tx
        .update(vms)
        .set({
          ...set,
          ...bumped,
          ...(patch.bootProfile ? { boot_profile: keepPool(patch.bootProfile) } : {}),
        })
        .where(and(eq(vms.id, id), eq(vms.state, from)))
        .returning();
      if (!vm) return null;
      const [event] = await tx
        .insert(vmEvents)
        .values({
          id: newId('evt'),
          vm_id: id,
          type: 'state',
          from_state: from === to ? null : from,
          to_state: to,
          actor,
          reason: patch.reason ?? null,
        })
        .returning();
      return { vm, event: event! };
    });
  }

  /** Changes the given fields; with `inStates`, only while the VM is in one of them (null otherwise). */
  async patch(id: string, p: VmPatch, inStates?: VmState[], tx?: Orm): Promise<VmRow | null> {
    return this.set(
      id,
      {
        name: p.name,
        labels: p.labels,
        ports: p.ports,
        egress: p.egress,
        bandwidth_mbit: p.bandwidthMbit,
        vcpus: p.vcpus,
        memory_mib: p.memoryMib,
        timeout: p.timeout,
        stop_at: p.stopAt,
        restart_policy: p.restartPolicy,
        drain_policy: p.drainPolicy,
      },
      inStates,
      tx,
    );
  }

  /**
   * A migration's switchover: the VM's host (and VMM pid) change, its last move recorded; the
   * volumes attached to it (their files moved with it) and the snapshots `carried` with it (a
   * stopped VM's, copied over) name the new host in the same transaction.
   */
  moveHost(
    id: string,
    hostId: string,
    m: LastMigration,
    pid?: number | null,
    carried: string[] = [],
  ): Promise<VmRow | null> {
    const set = { host_id: hostId, last_migration: m, ...(pid !== undefined ? { pid } : {}) };
    return this.db.orm.transaction(async (tx) => {
      await tx.update(volumes).set({ host_id: hostId }).where(eq(volumes.vm_id, id));
      if (carried.length)
        await tx.update(snapshots).set({ host_id: hostId }).where(inArray(snapshots.id, carried));
      return this.set(id, set, undefined, tx);
    });
  }

  /** The guest app's last reported status (null: none). */
  setApp(id: string, app: AppStatus | null): Promise<VmRow | null> {
    return this.set(id, { app });
  }

  private async set(id: string, set: VmSet, inStates?: VmState[], tx = this.db.orm): Promise<VmRow | null> {
    const rows = await tx
      .update(vms)
      .set({ ...set, ...bumped })
      .where(and(eq(vms.id, id), inStates ? inArray(vms.state, inStates) : undefined))
      .returning();
    return rows[0] ?? null;
  }

  /**
   * A running VM came back with a new VMM process (the guest rebooted): new pid and start time,
   * and one `rebooted` event, only if nobody recorded it already (the old pid still stands).
   */
  async recordReboot(id: string, oldPid: number, newPid: number, startedAt: Date, stopAt: Date | null) {
    return this.db.orm.transaction(async (tx) => {
      const [vm] = await tx
        .update(vms)
        .set({ pid: newPid, started_at: startedAt, stop_at: stopAt, ...bumped })
        .where(and(eq(vms.id, id), eq(vms.state, 'running'), eq(vms.pid, oldPid)))
        .returning();
      if (!vm) return null;
      await tx.insert(vmEvents).values({
        id: newId('evt'),
        vm_id: id,
        type: 'rebooted',
        to_state: 'running',
        actor: 'reconciler',
        reason: 'the guest rebooted itself',
      });
      return vm;
    });
  }

  async addEvent(
    vmId: string,
    type: string,
    actor: string,
    reason: string | null,
    to: VmState | null = null,
  ) {
    const rows = await this.db.orm
      .insert(vmEvents)
      .values({ id: newId('evt'), vm_id: vmId, type, to_state: to, actor, reason })
      .returning();
    return rows[0]!;
  }

  async events(vmId: string, limit: number, cursor?: string) {
    const after = decodeCursor(cursor);
    if (after !== null && !/^\d{1,15}$/.test(after)) {
      throw new HearthError(
        'VALIDATION_FAILED',
        'Reading the page cursor failed: it is not one this server issued.',
        {
          fields: { cursor: ['invalid cursor'] },
        },
      );
    }
    const where: SQL[] = [eq(vmEvents.vm_id, vmId), gt(vmEvents.seq, after ? Number(after) : 0)];
    const rows = await this.db.orm
      .select()
      .from(vmEvents)
      .where(and(...where))
      .orderBy(asc(vmEvents.seq))
      .limit(limit + 1);
    return pageResult(rows, limit, (r) => String(r.seq));
  }

  /** The messages of the VM's newest `limit` events of `type`, oldest first. */
  async recentReasons(vmId: string, type: string, limit: number): Promise<(string | null)[]> {
    const rows = await this.db.orm
      .select({ reason: vmEvents.reason })
      .from(vmEvents)
      .where(and(eq(vmEvents.vm_id, vmId), eq(vmEvents.type, type)))
      .orderBy(desc(vmEvents.seq))
      .limit(limit);
    return rows.map((r) => r.reason).reverse();
  }

  /** A deleted VM leaves nothing behind: its row, its NICs and its events go together. */
  async remove(id: string): Promise<void> {
    await this.db.orm.transaction(async (tx) => {
      await tx.delete(vmEvents).where(eq(vmEvents.vm_id, id));
      await tx.delete(vmNics).where(eq(vmNics.vm_id, id));
      await tx.delete(vms).where(eq(vms.id, id));
    });
  }
}

/**
 * A new boot profile that keeps the pool the VM was handed out from, when the old one named it:
 * a handed-out VM must never look like one still waiting in its pool (store/pools.ts `WAITING`).
 */
function keepPool(profile: NonNullable<VmSet['boot_profile']>): SQL {
  const next = sql`${JSON.stringify(profile)}::jsonb`;
  if (profile.pool) return next;
  // The old pool name over the new profile's null; nothing added when the old one had none.
  return sql`${next} || jsonb_strip_nulls(jsonb_build_object('pool', ${vms.boot_profile}->'pool'))`;
}
