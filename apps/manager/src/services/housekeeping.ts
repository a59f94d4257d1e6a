import type { Logger } from 'pino';
import type { Stores } from '../store/index.ts';
import type { AgentClient } from './agent-client.ts';
import { sweepUnreachable } from './host-failure.ts';
import type { VmService } from './vms/vm-service.ts';
import type { WebhookService } from './webhooks/webhook-service.ts';

/** How often expired sessions, tickets and Idempotency-Keys are deleted (each is ignored as soon as it expires). */
const SWEEP_MS = 60_000;

interface Deps {
  /** Only the leader replica does this work (PGlite: always). */
  isLeader(): boolean;
  stores: Stores;
  agents: AgentClient;
  vmService: VmService;
  log: Logger;
  webhooks: { service: WebhookService; hostsOffline(ids: string[]): void };
  hostOfflineMs: number;
  unreachableMs: number;
  everyMs: number;
}

/**
 * The manager's periodic work: hosts that stopped heartbeating go offline, then unreachable after
 * the grace period (their VMs unknown; not before the manager has run that long itself, so agents
 * re-heartbeating after a manager restart are not marked); VMs past their timeout stop; expired
 * sessions, tickets and idempotency keys go. dispose() is idempotent.
 */
export function startHousekeeping(d: Deps): { dispose(): void } {
  let lastSweep = 0;
  const startedAt = Date.now();
  const failureDeps = {
    stores: d.stores,
    vmService: d.vmService,
    agents: d.agents,
    log: d.log,
    webhooks: d.webhooks.service,
  };
  const tick = setInterval(() => {
    if (!d.isLeader()) return;
    void d.stores.hosts
      .markStale(d.hostOfflineMs)
      .then((ids) => {
        ids.forEach((id) => d.agents.live.lost(id));
        d.webhooks.hostsOffline(ids);
      })
      .catch(() => undefined);
    if (Date.now() - startedAt > d.unreachableMs)
      void sweepUnreachable(failureDeps, d.unreachableMs).catch((e: Error) =>
        d.log.warn({ err: e.message }, 'marking unreachable hosts failed'),
      );
    void d.vmService.stopExpired().catch(() => undefined);
    // A move whose manager died (this process's predecessor, another replica) is resolved.
    void d.vmService
      .recoverMoves(d.hostOfflineMs)
      .catch((e: Error) => d.log.warn({ err: e.message }, 'resolving moves in flight failed'));
    if (Date.now() - lastSweep > SWEEP_MS) {
      lastSweep = Date.now();
      void d.stores.sessions.sweep().catch(() => undefined);
      void d.stores.tickets.sweep().catch(() => undefined);
      void d.stores.idempotency.sweep().catch(() => undefined);
    }
  }, d.everyMs);
  tick.unref();
  return { dispose: () => clearInterval(tick) };
}
