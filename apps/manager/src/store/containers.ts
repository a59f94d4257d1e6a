import type { AppStatus, ContainerState, VmState } from '@hearth/contract';
import { HearthError } from '@hearth/contract';
import {
  and,
  asc,
  desc,
  eq,
  getTableColumns,
  gt,
  inArray,
  like,
  ne,
  notInArray,
  or,
  sql,
  type SQL,
} from 'drizzle-orm';
import type { Db } from '../db/index.ts';
import { isUniqueViolation } from '../db/db.ts';
import { containerEvents, containers, vms, type ContainerPhase } from '../db/schema.ts';
import { decodeCursor, pageResult } from './page.ts';

export type ContainerRecord = typeof containers.$inferSelect;

/** A container with what its VM says now (null columns: no VM). */
export interface ContainerRow extends ContainerRecord {
  state: ContainerState;
  vm_state: VmState | null;
  vm_desired: string | null;
  vm_reason: string | null;
  vm_app: AppStatus | null;
  vm_host: string | null;
  vm_ip: string | null;
  vm_started_at: Date | null;
  vm_updated_at: Date | null;
}

/**
 * The container's state: its own phase until it has a VM, then its VM's state and the app the
 * guest agent reports (no app reported yet on a running VM: starting, since the guest has not
 * started it yet). The one rule, in SQL so that lists filter and page by it in the database.
 */
const STATE = sql<ContainerState>`CASE
  WHEN ${containers.phase} <> 'vm' THEN ${containers.phase}
  WHEN ${vms.id} IS NULL THEN 'failed'
  WHEN ${vms.state} IN ('creating', 'starting', 'pooled') THEN 'starting'
  WHEN ${vms.state} = 'created' THEN
    CASE WHEN ${vms.desired_state} = 'running' THEN 'starting' ELSE 'exited' END
  WHEN ${vms.state} = 'running' THEN
    CASE coalesce(${vms.app}->>'state', 'starting')
      WHEN 'running' THEN 'running'
      WHEN 'starting' THEN 'starting'
      WHEN 'restarting' THEN 'restarting'
      ELSE 'exited' END
  WHEN ${vms.state} = 'pausing' THEN 'running'
  WHEN ${vms.state} IN ('paused', 'resuming') THEN 'paused'
  WHEN ${vms.state} = 'stopping' THEN
    CASE WHEN ${vms.desired_state} = 'running' THEN 'restarting' ELSE 'stopping' END
  WHEN ${vms.state} = 'stopped' THEN
    CASE WHEN ${vms.desired_state} = 'running' AND NOT ${containers.user_stopped}
      AND ${containers.spec}->>'restart' IN ('always', 'unless-stopped') THEN 'restarting'
    ELSE 'exited' END
  WHEN ${vms.state} = 'deleting' THEN 'removing'
  ELSE 'failed' END`;

const FIELDS = {
  ...getTableColumns(containers),
  state: STATE.as('state'),
  vm_state: sql<VmState | null>`${vms.state}`.as('vm_state'),
  vm_desired: sql<string | null>`${vms.desired_state}`.as('vm_desired'),
  vm_reason: sql<string | null>`${vms.state_reason}`.as('vm_reason'),
  vm_app: sql<AppStatus | null>`${vms.app}`.as('vm_app'),
  vm_host: sql<string | null>`${vms.host_id}`.as('vm_host'),
  vm_ip: sql<string | null>`${vms.ip}`.as('vm_ip'),
  vm_started_at: sql<Date | string | null>`${vms.started_at}`.as('vm_started_at'),
  vm_updated_at: sql<Date | string | null>`${vms.updated_at}`.as('vm_updated_at'),
};

export interface ContainerFilter {
  project: string;
  limit: number;
  cursor?: string | undefined;
  /** false: leave out exited and failed containers. */
  all: boolean;
  state?: ContainerState | undefined;
  namePrefix?: string | undefined;
  /** `key` or `key=value`. */
  label?: string | undefined;
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

export class ContainerStore {
  constructor(private readonly db: Db) {}

  private rows(where: SQL | undefined, order: SQL[], limit?: number): Promise<ContainerRow[]> {
    const q = this.db.orm
      .select(FIELDS)
      .from(containers)
      .leftJoin(vms, eq(vms.id, containers.vm_id))
      .where(where)
      .orderBy(...order)
      .$dynamic();
    return (limit === undefined ? q : q.limit(limit)) as unknown as Promise<ContainerRow[]>;
  }

  async insert(c: Pick<ContainerRecord, 'id' | 'name' | 'project' | 'image' | 'spec' | 'phase'>) {
    try {
      await this.db.orm.insert(containers).values(c);
    } catch (e) {
      if (isUniqueViolation(e)) {
        throw new HearthError(
          'CONTAINER_NAME_TAKEN',
          `Creating container "${c.name}" failed: the project has a container of that name.`,
          { fields: { name: ['already taken'] } },
        );
      }
      throw e;
    }
    return this.requireUnscoped(c.id);
  }

  /**
   * By id, name, or an id prefix of at least 4 characters (with or without `ctr_`) inside
   * `project`; an ambiguous prefix finds nothing.
   */
  async get(ref: string, project: string): Promise<ContainerRow | null> {
    const exact = await this.rows(
      and(eq(containers.project, project), or(eq(containers.id, ref), eq(containers.name, ref))),
      [desc(sql`${containers.id} = ${ref}`)],
      1,
    );
    if (exact[0]) return exact[0];
    if (ref.length < 4) return null;
    const p = escapeLike(ref);
    const hits = await this.rows(
      and(
        eq(containers.project, project),
        or(like(containers.id, `${p}%`), like(containers.id, `ctr\\_${p}%`)),
      ),
      [asc(containers.id)],
      2,
    );
    return hits.length === 1 ? hits[0]! : null;
  }

  async require(ref: string, project: string): Promise<ContainerRow> {
    const row = await this.get(ref, project);
    if (!row) {
      throw new HearthError(
        'CONTAINER_NOT_FOUND',
        `Finding container "${ref}" failed: no container of the project has that id, id prefix or name.`,
      );
    }
    return row;
  }

  async getUnscoped(id: string): Promise<ContainerRow | null> {
    return (await this.rows(eq(containers.id, id), [], 1))[0] ?? null;
  }

  async requireUnscoped(id: string): Promise<ContainerRow> {
    const row = await this.getUnscoped(id);
    if (!row) throw new HearthError('CONTAINER_NOT_FOUND', `Container ${id} does not exist.`);
    return row;
  }

  async byVm(vmId: string): Promise<ContainerRow | null> {
    return (await this.rows(eq(containers.vm_id, vmId), [], 1))[0] ?? null;
  }

  /** Containers a manager was pulling or creating (work to resume after a restart). */
  unfinished(): Promise<ContainerRow[]> {
    return this.rows(inArray(containers.phase, ['pulling', 'creating']), [asc(containers.id)]);
  }

  /** Containers that have a VM (the watcher's sweep). */
  withVm(): Promise<ContainerRow[]> {
    return this.rows(eq(containers.phase, 'vm'), [asc(containers.id)]);
  }

  async list(f: ContainerFilter) {
    const after = decodeCursor(f.cursor);
    const where: (SQL | undefined)[] = [eq(containers.project, f.project)];
    if (after !== null) where.push(gt(containers.id, after));
    if (f.state) where.push(sql`(${STATE}) = ${f.state}`);
    else if (!f.all) where.push(notInArray(sql`(${STATE})`, ['exited', 'failed']));
    if (f.namePrefix) where.push(like(containers.name, `${escapeLike(f.namePrefix)}%`));
    if (f.label) {
      const i = f.label.indexOf('=');
      where.push(
        i < 0
          ? sql`${containers.spec}->'labels' ? ${f.label}`
          : sql`${containers.spec}->'labels'->>${f.label.slice(0, i)} = ${f.label.slice(i + 1)}`,
      );
    }
    const rows = await this.rows(and(...where), [asc(containers.id)], f.limit + 1);
    return pageResult(rows, f.limit, (r) => r.id);
  }

  async nameTaken(name: string, project: string): Promise<boolean> {
    const rows = await this.db.orm
      .select({ id: containers.id })
      .from(containers)
      .where(and(eq(containers.project, project), eq(containers.name, name)));
    return rows.length > 0;
  }

  async patch(
    id: string,
    p: Partial<
      Pick<
        ContainerRecord,
        | 'phase'
        | 'phase_reason'
        | 'pull'
        | 'image_id'
        | 'image_digest'
        | 'vm_id'
        | 'user_stopped'
        | 'restarts'
        | 'seen'
      >
    >,
  ): Promise<void> {
    await this.db.orm.update(containers).set(p).where(eq(containers.id, id));
  }

  /** Moves to `phase` only from `from` (a delete racing a pull must win); true when it did. */
  async movePhase(id: string, from: ContainerPhase, to: ContainerPhase, reason: string | null) {
    const rows = await this.db.orm
      .update(containers)
      .set({ phase: to, phase_reason: reason })
      .where(and(eq(containers.id, id), eq(containers.phase, from)))
      .returning({ id: containers.id });
    return rows.length > 0;
  }

  async delete(id: string): Promise<void> {
    await this.db.orm.delete(containers).where(eq(containers.id, id));
    await this.db.orm.delete(containerEvents).where(eq(containerEvents.container_id, id));
  }

  /** Other containers that name `volume` (a volume is attached to one VM at a time). */
  async usingVolume(project: string, volume: string, except: string): Promise<string[]> {
    const rows = await this.db.orm
      .select({ name: containers.name })
      .from(containers)
      .where(
        and(
          eq(containers.project, project),
          ne(containers.id, except),
          sql`${containers.spec}->'volumes' @> ${JSON.stringify([{ source: volume }])}::jsonb`,
        ),
      );
    return rows.map((r) => r.name);
  }

  async addEvent(containerId: string, type: string, message: string): Promise<void> {
    await this.db.orm.insert(containerEvents).values({ container_id: containerId, type, message });
  }

  async events(containerId: string, q: { limit: number; cursor?: string | undefined }) {
    const after = decodeCursor(q.cursor);
    const rows = await this.db.orm
      .select()
      .from(containerEvents)
      .where(
        and(
          eq(containerEvents.container_id, containerId),
          after === null ? undefined : gt(containerEvents.seq, Number(after)),
        ),
      )
      .orderBy(asc(containerEvents.seq))
      .limit(q.limit + 1);
    return pageResult(rows, q.limit, (r) => r.seq);
  }
}
