import { CronExpressionParser } from 'cron-parser';
import { HearthError } from '@hearth/contract';

/**
 * The first instant strictly after `after` that `cron` names, in UTC. Five fields only (minute
 * hour day-of-month month day-of-week): a seconds field would let one schedule snapshot a VM
 * every second.
 */
export function nextRun(cron: string, after: Date): Date {
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5) {
    throw new HearthError(
      'VALIDATION_FAILED',
      `The cron expression "${cron}" has ${fields.length} fields; give five (minute hour day month weekday).`,
      { fields: { cron: ['five fields: minute hour day month weekday'] } },
    );
  }
  try {
    return CronExpressionParser.parse(cron, { currentDate: after, tz: 'UTC' }).next().toDate();
  } catch (e) {
    throw new HearthError(
      'VALIDATION_FAILED',
      `The cron expression "${cron}" is not valid: ${(e as Error).message}`,
      {
        fields: { cron: [(e as Error).message] },
      },
    );
  }
}
