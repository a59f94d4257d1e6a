import { z } from 'zod';
import { Name, PageQuery } from './common.ts';

const Labels = z.record(z.string().max(63), z.string().max(255));

/** A retention: how many of a schedule's snapshots are kept, and for how long; both may apply. */
export const ScheduleRetention = z
  .strictObject({
    count: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .optional()
      .describe('Keep at most this many snapshots per VM (the newest)'),
    maxAge: z
      .string()
      .regex(/^\d+[mhdw]$/, 'a number and a unit: m, h, d or w (e.g. 7d)')
      .optional()
      .describe('Delete snapshots older than this (e.g. `12h`, `7d`, `4w`)'),
  })
  .refine((r) => r.count !== undefined || r.maxAge !== undefined, {
    message: 'give count, maxAge or both',
  })
  .meta({ id: 'ScheduleRetention' });
export type ScheduleRetention = z.infer<typeof ScheduleRetention>;

export const SnapshotSchedule = z
  .object({
    id: z.string(),
    name: z.string(),
    project: z.string(),
    vm: z.string().nullable().describe('The one VM it snapshots (id), or null when `selector` picks them'),
    selector: Labels.nullable().describe('Every VM of the project carrying all these labels'),
    cron: z.string().describe('Five-field cron expression, in UTC'),
    retention: ScheduleRetention,
    memory: z
      .boolean()
      .describe(
        'Whether snapshots hold memory and device state; false: disk-only snapshots (root disk and volumes)',
      ),
    enabled: z.boolean(),
    nextRunAt: z.string().nullable(),
    lastRunAt: z.string().nullable(),
    lastError: z.string().nullable(),
    createdAt: z.string(),
  })
  .meta({ id: 'SnapshotSchedule' });
export type SnapshotSchedule = z.infer<typeof SnapshotSchedule>;

export const CreateScheduleBody = z
  .strictObject({
    name: Name.optional().describe('Default: <vm or selector>-<random>'),
    vm: z.string().min(1).optional().describe('VM id or name; give this or `selector`'),
    selector: Labels.optional().describe('Labels a VM must all carry; give this or `vm`'),
    cron: z
      .string()
      .min(9)
      .max(200)
      .describe('Five-field cron expression (minute hour day month weekday), UTC'),
    retention: ScheduleRetention,
    memory: z
      .boolean()
      .default(true)
      .describe(
        'Snapshots with memory and device state; `false`: disk-only snapshots (root disk and volumes, restored by a cold boot)',
      ),
    enabled: z.boolean().default(true),
  })
  .refine((b) => (b.vm === undefined) !== (b.selector === undefined), {
    message: 'give exactly one of vm and selector',
    path: ['vm'],
  })
  .meta({ id: 'CreateSnapshotSchedule' });
export type CreateScheduleBody = z.infer<typeof CreateScheduleBody>;

export const ListSchedulesQuery = PageQuery.extend({
  vm: z.string().optional().describe('Only schedules of this VM (id or name)'),
});

export const UpdateScheduleBody = z
  .strictObject({
    cron: z
      .string()
      .min(9)
      .max(200)
      .optional()
      .describe(
        'Five-field cron expression (minute hour day month weekday), UTC; the next run is recomputed',
      ),
    retention: ScheduleRetention.optional().describe('Replaces the whole retention'),
    memory: z.boolean().optional().describe('`false`: disk-only snapshots from the next run on'),
    enabled: z
      .boolean()
      .optional()
      .describe('`false`: the schedule never fires; `true`: the next run is computed from now'),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), { message: 'give at least one field' })
  .meta({ id: 'UpdateSnapshotSchedule' });
export type UpdateScheduleBody = z.infer<typeof UpdateScheduleBody>;
