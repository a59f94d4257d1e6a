import type { Logger } from 'pino';
import { HearthError, type AgentVmStatus, type DeclaredDeadHost, type Host } from '@hearth/contract';
import type { Stores } from '../store/index.ts';
import { hostFromRow } from '../store/mappers.ts';
import type { AgentClient, AgentTarget } from './agent-client.ts';
import type { VmService } from './vms/vm-service.ts';
import type { WebhookService } from './webhooks/webhook-service.ts';

interface Deps {
  stores: Stores;
  vmService: VmService;
  agents: AgentClient;
  log: Logger;
  webhooks?: WebhookService | undefined;
}

/** `hearth host cordon|uncordon`: placement skips a cordoned host; its VMs are left alone. */
export async function setCordon(
  deps: Pick<Deps, 'stores' | 'log'>,
  idOrName: string,
  on: boolean,
  actor: string,
): Promise<Host> {
  const host = await deps.stores.hosts.require(idOrName);
  if (!(await deps.stores.hostFailure.setCordon(host.id, on))) {
    throw new HearthError(
      'HOST_NOT_FOUND',
      `Finding host "${idOrName}" failed: no host has that id or name.`,
    );
  }
  deps.log.info({ host: host.id, name: host.name, actor }, on ? 'host cordoned' : 'host uncordoned');
  return hostFromRow(await deps.stores.hosts.require(host.id));
}

/**
 * `POST /v1/hosts/:id/declare-dead`: the operator says the host is down for good (fencing is their
 * statement, never the manager's guess). Its VMs are fenced there and restarted elsewhere or lost.
 */
export async function declareHostDead(
  deps: Deps,
  idOrName: string,
  actor: string,
): Promise<DeclaredDeadHost> {
  const found = await deps.stores.hosts.require(idOrName);
  const host = await deps.stores.hostFailure.declareDead(found.id, found.name);
  deps.agents.live.lost(host.id);
  const r = await deps.vmService.failOverHost(host, actor);
  deps.log.warn(
    { host: host.id, name: host.name, restarted: r.restarted.length, lost: r.lost.length, actor },
    'host declared dead',
  );
  void deps.webhooks?.emit('host.dead', null, { hostId: host.id, name: host.name, ...r });
  return { id: host.id, name: host.name, ...r };
}

/**
 * Hosts silent for `graceMs` become unreachable and their VMs unknown (webhook host.unreachable).
 * Run by housekeeping.
 */
export async function sweepUnreachable(deps: Deps, graceMs: number): Promise<void> {
  for (const host of await deps.stores.hostFailure.markUnreachable(graceMs)) {
    deps.agents.live.lost(host.id);
    const vms = await deps.vmService.markHostUnknown(host, graceMs);
    deps.log.warn({ host: host.id, name: host.name, vms }, 'host unreachable: its VMs are unknown');
    void deps.webhooks?.emit('host.unreachable', null, { hostId: host.id, name: host.name, unknownVms: vms });
  }
}

/**
 * Fenced VMs being destroyed now (one call per VM at a time), per manager: keyed by its agent
 * client so that two managers in one process (tests) do not share their in-flight calls.
 */
const inFlight = new WeakMap<object, Set<string>>();

/**
 * A host that was declared dead speaks again: every VM fenced there that its agent still has is
 * destroyed (it runs elsewhere now, or is lost); a fence goes once the agent no longer has it.
 */
export async function fenceReturningHost(
  deps: Pick<Deps, 'stores' | 'agents' | 'log'>,
  host: AgentTarget,
  reported: AgentVmStatus[],
): Promise<void> {
  const fences = await deps.stores.hostFailure.fences(host.id);
  if (!fences.length) return;
  const destroying = inFlight.get(deps.agents) ?? new Set<string>();
  inFlight.set(deps.agents, destroying);
  const has = new Set(reported.filter((s) => s.phase !== 'absent').map((s) => s.id));
  for (const f of fences) {
    if (!has.has(f.vm_id)) {
      await deps.stores.hostFailure.unfence(host.id, f.vm_id);
      continue;
    }
    const key = `${host.id}/${f.vm_id}`;
    if (destroying.has(key)) continue;
    destroying.add(key);
    deps.log.warn(
      { host: host.id, vm: f.vm_id, reason: f.reason },
      'fencing: destroying a VM on a returning dead host',
    );
    void deps.agents
      .delete(host, f.vm_id)
      .catch((e: Error) =>
        deps.log.warn(
          { host: host.id, vm: f.vm_id, err: e.message },
          'fencing a VM failed; retried at the next heartbeat',
        ),
      )
      .finally(() => destroying.delete(key));
  }
}
