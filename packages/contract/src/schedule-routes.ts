import type { RouteDef } from './routes.ts';
import { IdParam, pageOf } from './common.ts';
import { CreateScheduleBody, ListSchedulesQuery, SnapshotSchedule, UpdateScheduleBody } from './schedule.ts';

const def = <const T extends RouteDef>(r: T): T => r;
const base = { tag: 'snapshots', auth: 'user' } as const;

/** Snapshot schedules: cron-driven snapshots of a VM or of VMs by label, pruned by retention. */
export const scheduleRoutes = {
  createSchedule: def({
    ...base,
    method: 'POST',
    path: '/v1/snapshot-schedules',
    summary:
      'Snapshot a VM (or every VM with some labels) on a cron schedule, keeping a number of snapshots and/or an age.',
    body: CreateScheduleBody,
    response: SnapshotSchedule,
    status: 201,
    errors: ['VALIDATION_FAILED', 'VM_NOT_FOUND', 'SCHEDULE_NAME_TAKEN'],
  }),
  listSchedules: def({
    ...base,
    method: 'GET',
    path: '/v1/snapshot-schedules',
    summary: 'List snapshot schedules.',
    query: ListSchedulesQuery,
    response: pageOf(SnapshotSchedule),
    status: 200,
    errors: [],
  }),
  getSchedule: def({
    ...base,
    method: 'GET',
    path: '/v1/snapshot-schedules/:id',
    summary: 'One snapshot schedule (id or name).',
    params: IdParam,
    response: SnapshotSchedule,
    status: 200,
    errors: ['SCHEDULE_NOT_FOUND'],
  }),
  updateSchedule: def({
    ...base,
    method: 'PATCH',
    path: '/v1/snapshot-schedules/:id',
    summary:
      'Change a snapshot schedule: cron, retention, memory or enabled. A new cron or enabling it recomputes the next run from now.',
    params: IdParam,
    body: UpdateScheduleBody,
    response: SnapshotSchedule,
    status: 200,
    errors: ['VALIDATION_FAILED', 'SCHEDULE_NOT_FOUND'],
  }),
  enableSchedule: def({
    ...base,
    method: 'POST',
    path: '/v1/snapshot-schedules/:id/enable',
    summary: 'Enable a snapshot schedule: its next run is computed from now.',
    params: IdParam,
    response: SnapshotSchedule,
    status: 200,
    errors: ['SCHEDULE_NOT_FOUND'],
  }),
  disableSchedule: def({
    ...base,
    method: 'POST',
    path: '/v1/snapshot-schedules/:id/disable',
    summary: 'Disable a snapshot schedule: it never fires until enabled again.',
    params: IdParam,
    response: SnapshotSchedule,
    status: 200,
    errors: ['SCHEDULE_NOT_FOUND'],
  }),
  deleteSchedule: def({
    ...base,
    method: 'DELETE',
    path: '/v1/snapshot-schedules/:id',
    summary: 'Delete a snapshot schedule; the snapshots it took stay.',
    params: IdParam,
    response: SnapshotSchedule,
    status: 200,
    errors: ['SCHEDULE_NOT_FOUND'],
  }),
} as const;
