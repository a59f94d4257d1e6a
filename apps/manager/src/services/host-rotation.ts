import { randomBytes } from 'node:crypto';
import { HearthError, type HostCredentials } from '@hearth/contract';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Stores } from '../store/index.ts';
import type { AgentClient } from './agent-client.ts';

/**
 * New credentials for a host, both directions, while its VMs run on: a second agent credential is
 * issued, the agent persists the new pair and switches (it still accepts the old callback token
 * until the manager uses the new one), then the manager records the new callback token and revokes
 * every other agent credential of the host.
 */
export async function rotateHostCredentials(
  deps: { stores: Stores; agents: AgentClient; log: Logger },
  idOrName: string,
): Promise<z.infer<typeof HostCredentials>> {
  const host = await deps.stores.hosts.require(idOrName);
  // One rotation per host at a time: two interleaved ones would each revoke the other's new
  // credential, and the agent could be left holding a revoked one.
  const before = inFlight.get(host.id) ?? Promise.resolve();
  const mine = before.catch(() => undefined).then(() => rotate(deps, host));
  const tail = mine.catch(() => undefined);
  inFlight.set(host.id, tail);
  void tail.then(() => {
    if (inFlight.get(host.id) === tail) inFlight.delete(host.id);
  });
  return mine;
}

const inFlight = new Map<string, Promise<unknown>>();

async function rotate(
  deps: { stores: Stores; agents: AgentClient; log: Logger },
  host: Awaited<ReturnType<Stores['hosts']['require']>>,
): Promise<z.infer<typeof HostCredentials>> {
  const { stores, agents, log } = deps;
  const next = await stores.hostCredentials.issueAgentToken(host.id, host.name);
  const callbackToken = randomBytes(32).toString('base64url');
  try {
    await agents.call(host, 'rotateCredentials', { body: { agentToken: next.token, callbackToken } });
  } catch (e) {
    // A lost answer (AGENT_UNREACHABLE) may hide an agent that switched: its new credential stays
    // valid beside the old one. Any other failure means the agent never took it.
    if (!(e instanceof HearthError && e.code === 'AGENT_UNREACHABLE')) {
      await stores.hostCredentials.dropToken(next.id);
    }
    throw e;
  }
  const target = await stores.hostCredentials.finishRotation(host.id, next.id, callbackToken);
  if (target) agents.live.seen(target);
  log.info({ host: host.id }, 'host credentials rotated');
  return { hostId: host.id, rotatedAt: new Date().toISOString() };
}
