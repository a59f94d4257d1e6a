import type { Logger } from 'pino';
import type { Stores } from '../../store/index.ts';
import type { SnapshotService } from '../snapshot-service.ts';
import { ScheduleRunner } from './runner.ts';
import { ScheduleService } from './service.ts';

export { ScheduleRunner } from './runner.ts';

/** The API service and the background runner of snapshot schedules, sharing one clock. */
export function startSchedules(o: {
  stores: Stores;
  snapshots: SnapshotService;
  log: Logger;
  clock?: () => Date;
  intervalMs?: number;
}): { service: ScheduleService; runner: ScheduleRunner } {
  const clock = o.clock ?? (() => new Date());
  return {
    service: new ScheduleService(o.stores, clock),
    runner: new ScheduleRunner({
      stores: o.stores,
      snapshots: o.snapshots,
      log: o.log.child({ component: 'schedules' }),
      clock,
      ...(o.intervalMs ? { intervalMs: o.intervalMs } : {}),
    }),
  };
}
