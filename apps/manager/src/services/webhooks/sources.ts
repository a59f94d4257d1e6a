import type { Vm } from '@hearth/contract';
import type { Db } from '../../db/index.ts';
import type { AuditStore } from '../../store/audit.ts';
import type { VmBus } from '../bus.ts';
import type { HostLiveness } from '../host-liveness.ts';
import type { WebhookService } from './webhook-service.ts';

/**
 * Where webhook events come from in this manager process: VM transitions and deletions on the
 * bus, hosts whose agents speak to it or go quiet, and the audit records it writes. Each event is
 * seen by the one manager that caused or observed it, so it is queued once.
 */
export function webhookSources(
  hooks: WebhookService,
  deps: { db: Db; bus: VmBus; live: HostLiveness; audit: AuditStore },
): { hostsOffline(ids: string[]): void } {
  // Another replica's changes are that replica's to queue (each change is queued once).
  deps.bus.on('vm', (vm: Vm, from: Vm['state'] | undefined, remote: boolean) => {
    if (remote || from === undefined || from === vm.state) return;
    void hooks.emit('vm.state', vm.project, { vm, from });
    if (vm.state === 'failed') void hooks.emit('vm.failed', vm.project, { vm, from });
  });
  deps.bus.on('gone', (vmId: string, project: string, remote: boolean) => {
    if (!remote) void hooks.emit('vm.deleted', project, { vmId });
  });

  const hostName = async (id: string) =>
    (await deps.db.query<{ name: string }>('SELECT name FROM hosts WHERE id = $1', [id]))[0]?.name ?? null;
  // Hosts this process has heard from since it started (at start, every host is offline).
  const online = new Set<string>();
  const hostEvent = (type: 'host.online' | 'host.offline', hostId: string) =>
    void hostName(hostId)
      .catch(() => null)
      .then((name) => hooks.emit(type, null, { hostId, name }));
  deps.live.watch((id) => {
    if (online.has(id)) return;
    online.add(id);
    hostEvent('host.online', id);
  });

  // Platform records (no project: users, hosts, sign-ins) go to no project's webhooks.
  deps.audit.onInsert = (records) => {
    for (const r of records) if (r.project) void hooks.emit('audit', r.project, { record: r });
  };

  return {
    hostsOffline(ids) {
      for (const id of ids) {
        online.delete(id);
        hostEvent('host.offline', id);
      }
    },
  };
}
