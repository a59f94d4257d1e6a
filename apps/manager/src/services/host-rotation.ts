import { randomBytes } from 'node:crypto';
import { HearthError, type HostCredentials } from '@hearth/contract';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Stores } from '../store/index.ts';
import type { AgentClient } from './agent-client.ts';
import { pemPin, type AgentCa } from '../tls/agent-ca.ts';

type Deps = { stores: Stores; agents: AgentClient; agentCa?: AgentCa | null | undefined; log: Logger };

/**
 * New credentials for a host, both directions, while its VMs run on: a second agent credential is
 * issued, the agent persists the new pair and switches (it still accepts the old callback token
 * until the manager uses the new one), then the manager records the new callback token and revokes
 * every other agent credential of the host. A host whose certificate the manager issued gets a new
 * key and certificate too, served to new connections at once; from then on the old certificate is
 * refused.
 */
export async function rotateHostCredentials(
  deps: Deps,
  idOrName: string,
): Promise<z.infer<typeof HostCredentials>> {
  const host = await deps.stores.hosts.require(idOrName);
  // One rotation per host at a time: two interleaved ones would each revoke the other's new
  // credential, and the agent could be left holding a revoked one.
  const before = inFlight.get(host.id) ?? Promise.resolve();
  const mine = before.catch(() => undefined).then(() => rotate(deps, host.id));
  const tail = mine.catch(() => undefined);
  inFlight.set(host.id, tail);
  void tail.then(() => {
    if (inFlight.get(host.id) === tail) inFlight.delete(host.id);
  });
  return mine;
}

const inFlight = new Map<string, Promise<unknown>>();

async function rotate(deps: Deps, hostId: string): Promise<z.infer<typeof HostCredentials>> {
  const { stores, agents, log } = deps;
  // Read after the rotations before this one finished: the certificates it pinned are current.
  const host = await stores.hosts.require(hostId);
  const next = await stores.hostCredentials.issueAgentToken(host.id, host.name);
  const callbackToken = randomBytes(32).toString('base64url');
  const tls = host.tls_issued && deps.agentCa ? await deps.agentCa.issue(host.id) : undefined;
  const pin = tls ? pemPin(tls.cert) : null;
  const before = host.tls_pins ?? null;
  // While the agent switches, both certificates are accepted: calls made meanwhile (and the answer
  // to this one) may meet either. A host not pinned yet (registered before pinning) stays so
  // until the agent answered: its current certificate is known only to the CA.
  const pending = pin && before ? [...before, pin] : null;
  if (pending) await pinned(deps, host.id, pending);
  try {
    await agents.call(host, 'rotateCredentials', {
      body: { agentToken: next.token, callbackToken, ...(tls ? { tls } : {}) },
    });
  } catch (e) {
    // A lost answer (AGENT_UNREACHABLE) may hide an agent that switched: its new credential (and
    // certificate) stays valid beside the old one. Any other failure means the agent never took it.
    if (!(e instanceof HearthError && e.code === 'AGENT_UNREACHABLE')) {
      await stores.hostCredentials.dropToken(next.id);
      if (pending) await pinned(deps, host.id, before);
    }
    throw e;
  }
  const target = await stores.hostCredentials.finishRotation(
    host.id,
    next.id,
    callbackToken,
    pin ? [pin] : undefined,
  );
  if (target) agents.live.seen(target);
  log.info({ host: host.id }, 'host credentials rotated');
  return { hostId: host.id, rotatedAt: new Date().toISOString() };
}

/** Records the host's accepted certificates; a live host's calls use them from the next one on. */
async function pinned(deps: Deps, hostId: string, pins: string[] | null): Promise<void> {
  const target = await deps.stores.hostCredentials.pinCertificates(hostId, pins);
  if (target && deps.agents.live.isLive(hostId)) deps.agents.live.seen(target);
}
