/**
 * The snapshot-schedule and backup part of the one error catalogue, spread into
 * `errorCatalogue` in errors.ts: same rules, codes never reused.
 */
export const backupErrors = {
  SCHEDULE_NOT_FOUND: {
    status: 404,
    hint: 'List snapshot schedules with `hearth schedule ls` or GET /v1/snapshot-schedules; ids and names are accepted.',
  },
  SCHEDULE_NAME_TAKEN: {
    status: 409,
    hint: 'Choose another schedule name, or delete the schedule that has it.',
  },
  BACKUP_RUNNING: {
    status: 409,
    hint: 'One backup runs at a time on a manager (each dumps the database and reads every image); wait for it to finish and ask again.',
  },
} as const;
