import type { Logger } from 'pino';
import type { RegisterHostBody } from '@hearth/contract';
import { ManagerCallError, type ManagerClient } from './manager-client.ts';

/** The host's credentials, kept in its data directory. */
export interface AgentIdentity {
  hostId?: string;
  agentToken?: string;
  callbackToken: string;
}

// Joining the manager: with the host's own credential or a join token, waiting out a manager
// that is up but cannot serve yet.

/** How long registration waits out a manager answering 503 (its database away, say). */
const REGISTER_PATIENCE_MS = 120_000;

/** One registration call, tried again while every manager answers 503 (it is up but cannot serve yet). */
async function registerOnce(client: ManagerClient, body: RegisterHostBody, log: Logger) {
  const until = Date.now() + REGISTER_PATIENCE_MS;
  for (;;) {
    try {
      return await client.register(body);
    } catch (e) {
      if (!(e instanceof ManagerCallError && e.status === 503) || Date.now() > until) throw e;
      log.warn({ err: e.message }, 'the manager cannot register hosts just now; trying again');
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

export async function register(
  client: ManagerClient,
  identity: AgentIdentity,
  joinToken: string,
  body: RegisterHostBody,
  log: Logger,
) {
  if (identity.agentToken) {
    client.setToken(identity.agentToken);
    try {
      return await registerOnce(client, body, log);
    } catch (e) {
      if (!(e instanceof ManagerCallError && e.status === 401)) throw e;
      log.warn('the manager does not know this host credential; registering with the join token');
    }
  }
  if (!joinToken) {
    throw new Error(
      identity.agentToken
        ? 'The manager does not know this host credential and no join token was given: --join-token or HEARTH_JOIN_TOKEN.'
        : 'A join token is needed to join: --join-token or HEARTH_JOIN_TOKEN (create one with `hearth host join-token create`).',
    );
  }
  client.setToken(joinToken);
  return registerOnce(client, body, log);
}
