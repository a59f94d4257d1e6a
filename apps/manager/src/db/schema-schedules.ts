import { boolean, integer, jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { at, created } from './columns.ts';

// Snapshot schedules (migration 41), as migrations-later.ts creates them; schema.ts re-exports
// them and lists them for the drift check.

/** A cron-driven snapshot of one VM or of a project's VMs by label, with its retention. */
export const snapshotSchedules = pgTable('snapshot_schedules', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  project: text('project').notNull(),
  /** The one VM, or null when `selector` picks them at each run. */
  vm_id: text('vm_id'),
  selector: jsonb('selector').$type<Record<string, string>>(),
  cron: text('cron').notNull(),
  keep_count: integer('keep_count'),
  /** Seconds; snapshots of the schedule older than this are deleted after each run. */
  keep_age_s: integer('keep_age_s'),
  memory: boolean('memory').notNull().default(true),
  enabled: boolean('enabled').notNull().default(true),
  next_run_at: at('next_run_at'),
  last_run_at: at('last_run_at'),
  last_error: text('last_error'),
  created_by: text('created_by').notNull(),
  created_at: created(),
});
