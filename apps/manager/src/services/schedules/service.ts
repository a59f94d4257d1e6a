import {
  HearthError,
  newId,
  type CreateScheduleBody,
  type SnapshotSchedule,
  type UpdateScheduleBody,
} from '@hearth/contract';
import { isUniqueViolation } from '../../db/index.ts';
import type { Stores } from '../../store/index.ts';
import { ageSeconds, scheduleFromRow } from '../../store/schedules.ts';
import { nextRun } from './cron.ts';

/** The API side of snapshot schedules: records and their validation; `ScheduleRunner` runs them. */
export class ScheduleService {
  constructor(
    private readonly stores: Stores,
    private readonly clock: () => Date,
  ) {}

  async create(project: string, body: CreateScheduleBody, actor: string): Promise<SnapshotSchedule> {
    const next = nextRun(body.cron, this.clock());
    const vm = body.vm ? await this.stores.vms.require(body.vm, project) : null;
    const id = newId('sched');
    const base = vm
      ? vm.name
      : (Object.entries(body.selector ?? {}).map(([k, v]) => `${k}-${v}`)[0] ?? 'vms');
    const name =
      body.name ??
      `${base
        .slice(0, 50)
        .replace(/[^a-z0-9-]/gi, '-')
        .toLowerCase()}-${id.slice(-6)}`;
    try {
      const row = await this.stores.schedules.insert({
        id,
        name,
        project,
        vm_id: vm?.id ?? null,
        selector: body.selector ?? null,
        cron: body.cron.trim(),
        keep_count: body.retention.count ?? null,
        keep_age_s: body.retention.maxAge ? ageSeconds(body.retention.maxAge) : null,
        memory: body.memory,
        enabled: body.enabled,
        next_run_at: body.enabled ? next : null,
        created_by: actor,
      });
      return scheduleFromRow(row);
    } catch (e) {
      if (isUniqueViolation(e, 'snapshot_schedules_project_name')) {
        throw new HearthError(
          'SCHEDULE_NAME_TAKEN',
          `Creating the schedule failed: project "${project}" already has a schedule named "${name}".`,
          { fields: { name: ['already taken'] } },
        );
      }
      throw e;
    }
  }

  async get(idOrName: string, project: string): Promise<SnapshotSchedule> {
    return scheduleFromRow(await this.stores.schedules.require(idOrName, project));
  }

  /**
   * Changes a schedule. A new cron, or enabling a disabled one, computes the next run from now (a
   * schedule enabled after a week off does not fire for the runs it missed); disabling clears it,
   * so the runner's due query never sees the schedule.
   */
  async update(idOrName: string, project: string, body: UpdateScheduleBody): Promise<SnapshotSchedule> {
    const row = await this.stores.schedules.require(idOrName, project);
    const cron = body.cron?.trim() ?? row.cron;
    const enabled = body.enabled ?? row.enabled;
    // Parsed even when the schedule stays disabled: a bad expression is refused now, not at enable.
    const next = nextRun(cron, this.clock());
    const recompute = body.cron !== undefined || (enabled && !row.enabled);
    const updated = await this.stores.schedules.update(row.id, {
      cron,
      enabled,
      ...(body.memory !== undefined ? { memory: body.memory } : {}),
      ...(body.retention
        ? {
            keep_count: body.retention.count ?? null,
            keep_age_s: body.retention.maxAge ? ageSeconds(body.retention.maxAge) : null,
          }
        : {}),
      next_run_at: !enabled ? null : recompute ? next : (row.next_run_at ?? next),
    });
    return scheduleFromRow(updated);
  }

  async delete(idOrName: string, project: string): Promise<SnapshotSchedule> {
    const row = await this.stores.schedules.require(idOrName, project);
    await this.stores.schedules.delete(row.id);
    return scheduleFromRow(row);
  }
}
