import type { Logger } from 'pino';
import type { Db } from '../../db/index.ts';
import type { Sealer } from '../../crypto/sealed.ts';
import type { AuditStore } from '../../store/audit.ts';
import type { VmBus } from '../bus.ts';
import type { HostLiveness } from '../host-liveness.ts';
import { webhookSources } from './sources.ts';
import { WebhookService, type WebhookOptions } from './webhook-service.ts';

export type { WebhookOptions } from './webhook-service.ts';

/** The webhook service of a manager, fed by its event sources (docs/webhooks.md). */
export function startWebhooks(deps: {
  db: Db;
  sealer: Sealer;
  bus: VmBus;
  live: HostLiveness;
  audit: AuditStore;
  log: Logger;
  options?: WebhookOptions | undefined;
}) {
  const service = new WebhookService(
    deps.db,
    deps.sealer,
    deps.log.child({ component: 'webhooks' }),
    deps.options,
  );
  const sources = webhookSources(service, deps);
  return { service, hostsOffline: sources.hostsOffline };
}
