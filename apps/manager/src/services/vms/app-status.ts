import { isDeepStrictEqual } from 'node:util';
import type { AppStatus } from '@hearth/contract';
import { vmFromRow, type VmRow } from '../../store/mappers.ts';
import type { Stores } from '../../store/index.ts';
import type { VmBus } from '../bus.ts';

/**
 * Records what the guest agent reports about a VM's app: the status in `vms.app` (published, so
 * the event stream and the UI see it) and one `app` VM event per human message ("restarted, exit
 * code 1, attempt 3", "health: unhealthy — …", "exited with code 0").
 */
export async function recordAppStatus(
  deps: { stores: Stores; bus: VmBus },
  row: VmRow,
  app: AppStatus | null | undefined,
  events: string[] = [],
  actor = 'agent',
): Promise<void> {
  for (const msg of events) await deps.stores.vms.addEvent(row.id, 'app', actor, msg);
  // Compared as values: jsonb hands keys back in its own order.
  if (app === undefined || isDeepStrictEqual(app, row.app ?? null)) return;
  const updated = await deps.stores.vms.setApp(row.id, app);
  if (updated) deps.bus.publish(vmFromRow(updated));
}
