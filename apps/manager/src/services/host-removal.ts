import type { Logger } from 'pino';
import type { RemovedHost } from '@hearth/contract';
import type { Db } from '../db/index.ts';
import type { Stores } from '../store/index.ts';
import { removeHostRecords } from '../store/host-removal.ts';
import { waitsInPool } from '../store/pools.ts';
import type { AgentClient } from './agent-client.ts';
import type { VmService } from './vms/vm-service.ts';

interface Deps {
  db: Db;
  stores: Stores;
  vmService: VmService;
  agents: AgentClient;
  log: Logger;
}

/**
 * `DELETE /v1/hosts/:id`: the host's record and credentials go, without calling its agent (the
 * point is a host that is gone). Refused with HOST_NOT_EMPTY while it holds anything, unless
 * `force`: its VMs become `lost` and can then be deleted; a warm pool's VM that was not handed
 * out yet is deleted at once (the pool boots a replacement elsewhere).
 */
export async function removeHost(
  deps: Deps,
  idOrName: string,
  force: boolean,
  actor: string,
): Promise<RemovedHost> {
  const host = await deps.stores.hosts.require(idOrName);
  const r = await removeHostRecords(deps.db, host.id, force, actor);
  // Its connections close: a certificate of a removed host is never used again.
  deps.agents.forget(host.id);
  for (const vm of r.lost) deps.vmService.announce(vm);
  for (const vm of r.lost.filter(waitsInPool)) {
    await deps.vmService.delete(vm.id, vm.project, 'pool').catch((e: Error) => {
      deps.log.warn({ vm: vm.id, err: e.message }, 'deleting a lost pool VM failed');
    });
  }
  deps.log.warn(
    {
      host: r.id,
      name: r.name,
      lostVms: r.lost.length,
      forgottenVolumes: r.forgottenVolumes.length,
      forgottenSnapshots: r.forgottenSnapshots.length,
      actor,
    },
    'host removed',
  );
  return {
    id: r.id,
    name: r.name,
    lostVms: r.lost.map((v) => v.id),
    forgottenVolumes: r.forgottenVolumes,
    forgottenSnapshots: r.forgottenSnapshots,
  };
}
