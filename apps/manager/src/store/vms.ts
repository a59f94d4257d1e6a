import { HearthError, newId, type EgressPolicy, type PortMapping, type VmState } from '@hearth/contract';
import type { Db } from '../db/index.ts';
import { decodeCursor, pageResult } from './page.ts';
import type { EventRow, VmRow } from './mappers.ts';

export interface NewVm {
  id: string;
  name: string;
  project: string;
  state: VmState;
  desiredState: string;
  vcpus: number;
  memoryMib: number;
  diskMib: number;
  imageId: string;
  kernelId: string;
  vmm: string;
  hostId: string;
  ip: string | null;
  mac: string | null;
  env: Record<string, string>;
  labels: Record<string, string>;
  timeout: string | null;
  guest: VmGuest;
  /** The snapshot this VM was restored or cloned from, for lineage. */
  snapshotId: string | null;
  ports?: PortMapping[];
  egress?: EgressPolicy | null;
  bandwidthMbit?: number | null;
}

/** Stored per VM: the guest channel secret and the users set up at boot. */
export interface VmGuest {
  secret: string;
  users: { name: string; passwordHash: string | null; sshKeys: string[] }[];
}

export interface VmFilter {
  state?: string;
  host?: string;
  project?: string;
  name?: string;
  limit: number;
  cursor?: string;
}

/** Columns that a state change may set together with the state. */
export interface StatePatch {
  reason?: string | null;
  pid?: number | null;
  accel?: string | null;
  startedAt?: Date | null;
  stopAt?: Date | null;
  desiredState?: string;
}

export class VmStore {
  constructor(private readonly db: Db) {}

  async insert(v: NewVm): Promise<VmRow> {
    const rows = await this.db.query<VmRow>(
      `INSERT INTO vms (id, name, project, state, desired_state, vcpus, memory_mib, disk_mib, image_id, kernel_id,
         vmm, host_id, ip, mac, env, labels, timeout, guest, snapshot_id, ports, egress, bandwidth_mbit)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15::jsonb,$16::jsonb,$17,$18::jsonb,$19,$20::jsonb,$21::jsonb,$22) RETURNING *`,
      [
        v.id,
        v.name,
        v.project,
        v.state,
        v.desiredState,
        v.vcpus,
        v.memoryMib,
        v.diskMib,
        v.imageId,
        v.kernelId,
        v.vmm,
        v.hostId,
        v.ip,
        v.mac,
        JSON.stringify(v.env),
        JSON.stringify(v.labels),
        v.timeout,
        JSON.stringify(v.guest),
        v.snapshotId,
        JSON.stringify(v.ports ?? []),
        v.egress ? JSON.stringify(v.egress) : null,
        v.bandwidthMbit ?? null,
      ],
    );
    return rows[0]!;
  }

  /** Ports already published on a host by other VMs, for conflict checks. */
  async portsOnHost(
    hostId: string,
    exceptVm: string | null,
  ): Promise<{ id: string; name: string; ports: PortMapping[] }[]> {
    return this.db.query(
      `SELECT id, name, ports FROM vms WHERE host_id = $1 AND ($2::text IS NULL OR id <> $2) AND jsonb_array_length(ports) > 0`,
      [hostId, exceptVm],
    );
  }

  async setSnapshotOrigin(id: string, snapshotId: string): Promise<void> {
    await this.db.query('UPDATE vms SET snapshot_id = $2 WHERE id = $1', [id, snapshotId]);
  }

  async get(idOrName: string, project?: string): Promise<VmRow | null> {
    const rows = await this.db.query<VmRow>(
      `SELECT * FROM vms WHERE id = $1 OR (name = $1 AND ($2::text IS NULL OR project = $2)) ORDER BY (id = $1) DESC, project = 'default' DESC LIMIT 1`,
      [idOrName, project ?? null],
    );
    return rows[0] ?? null;
  }

  async require(idOrName: string): Promise<VmRow> {
    const vm = await this.get(idOrName);
    if (!vm)
      throw new HearthError('VM_NOT_FOUND', `Finding VM "${idOrName}" failed: no VM has that id or name.`);
    return vm;
  }

  async list(f: VmFilter) {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      params.push(v);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (f.state) add('state = ?', f.state);
    if (f.host) add('host_id = ?', f.host);
    if (f.project) add('project = ?', f.project);
    if (f.name)
      add(
        "name LIKE ? || '%'",
        f.name.replace(/[%_\\]/g, (c) => '\\' + c),
      );
    const after = decodeCursor(f.cursor);
    if (after) add('id > ?', after);
    params.push(f.limit + 1);
    const rows = await this.db.query<VmRow>(
      `SELECT * FROM vms ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id LIMIT $${params.length}`,
      params,
    );
    return pageResult(rows, f.limit, (r) => r.id);
  }

  all(): Promise<VmRow[]> {
    return this.db.query<VmRow>('SELECT * FROM vms ORDER BY id');
  }

  onHost(hostId: string): Promise<VmRow[]> {
    return this.db.query<VmRow>(
      `SELECT *, (extract(epoch FROM (now() - updated_at)) * 1000)::float8 AS age_ms FROM vms WHERE host_id = $1`,
      [hostId],
    );
  }

  usedIps(): Promise<string[]> {
    return this.db
      .query<{ ip: string }>('SELECT ip FROM vms WHERE ip IS NOT NULL')
      .then((rows) => rows.map((r) => r.ip));
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
    return this.db.transaction(async (tx) => {
      const sets = ['state = $3', 'updated_at = now()'];
      const params: unknown[] = [id, from, to];
      const set = (col: string, v: unknown) => {
        params.push(v);
        sets.push(`${col} = $${params.length}`);
      };
      if (patch.reason !== undefined) set('state_reason', patch.reason);
      if (patch.pid !== undefined) set('pid', patch.pid);
      if (patch.accel !== undefined) set('accel', patch.accel);
      if (patch.startedAt !== undefined) set('started_at', patch.startedAt);
      if (patch.stopAt !== undefined) set('stop_at', patch.stopAt);
      if (patch.desiredState !== undefined) set('desired_state', patch.desiredState);
      const rows = await tx.query<VmRow>(
        `UPDATE vms SET ${sets.join(', ')} WHERE id = $1 AND state = $2 RETURNING *`,
        params,
      );
      const vm = rows[0];
      if (!vm) return null;
      const ev = await tx.query<EventRow>(
        `INSERT INTO vm_events (id, vm_id, type, from_state, to_state, actor, reason)
         VALUES ($1, $2, 'state', $3, $4, $5, $6) RETURNING *`,
        [newId('evt'), id, from === to ? null : from, to, actor, patch.reason ?? null],
      );
      return { vm, event: ev[0]! };
    });
  }

  /** Updates columns; with `inStates`, only while the VM is in one of them (null otherwise). */
  async update(id: string, cols: Record<string, unknown>, inStates?: VmState[]): Promise<VmRow | null> {
    const keys = Object.keys(cols);
    const json = (k: string) => k === 'labels' || k === 'ports' || k === 'egress';
    const sets = keys.map((k, i) => `${k} = $${i + 2}${json(k) ? '::jsonb' : ''}`);
    const params: unknown[] = [id, ...keys.map((k) => (json(k) ? JSON.stringify(cols[k]) : cols[k]))];
    let guard = '';
    if (inStates) {
      params.push(inStates);
      guard = ` AND state = ANY($${params.length}::text[])`;
    }
    const rows = await this.db.query<VmRow>(
      `UPDATE vms SET ${[...sets, 'updated_at = now()'].join(', ')} WHERE id = $1${guard} RETURNING *`,
      params,
    );
    return rows[0] ?? null;
  }

  /**
   * A running VM came back with a new VMM process (the guest rebooted): new pid and start time,
   * and one `rebooted` event, only if nobody recorded it already (the old pid still stands).
   */
  async recordReboot(id: string, oldPid: number, newPid: number, startedAt: Date, stopAt: Date | null) {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<VmRow>(
        `UPDATE vms SET pid = $3, started_at = $4, stop_at = $5, updated_at = now()
         WHERE id = $1 AND state = 'running' AND pid = $2 RETURNING *`,
        [id, oldPid, newPid, startedAt, stopAt],
      );
      if (!rows[0]) return null;
      await tx.query(
        `INSERT INTO vm_events (id, vm_id, type, to_state, actor, reason) VALUES ($1, $2, 'rebooted', 'running', 'reconciler', 'the guest rebooted itself')`,
        [newId('evt'), id],
      );
      return rows[0];
    });
  }

  async addEvent(
    vmId: string,
    type: string,
    actor: string,
    reason: string | null,
    to: VmState | null = null,
  ) {
    const rows = await this.db.query<EventRow>(
      `INSERT INTO vm_events (id, vm_id, type, to_state, actor, reason) VALUES ($1,$2,$3,$4,$5,$6) RETURNING *`,
      [newId('evt'), vmId, type, to, actor, reason],
    );
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
    const rows = await this.db.query<EventRow>(
      'SELECT * FROM vm_events WHERE vm_id = $1 AND seq > $2 ORDER BY seq LIMIT $3',
      [vmId, after ? Number(after) : 0, limit + 1],
    );
    return pageResult(rows, limit, (r) => String(r.seq));
  }

  /** A deleted VM leaves nothing behind: its row and its events go together. */
  async remove(id: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query('DELETE FROM vm_events WHERE vm_id = $1', [id]);
      await tx.query('DELETE FROM vm_nics WHERE vm_id = $1', [id]);
      await tx.query('DELETE FROM vms WHERE id = $1', [id]);
    });
  }
}
