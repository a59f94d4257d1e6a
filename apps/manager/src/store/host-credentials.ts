import { randomBytes } from 'node:crypto';
import { HearthError, newId, type RegisterHostBody } from '@hearth/contract';
import { and, eq, ne, sql } from 'drizzle-orm';
import type { Db } from '../db/index.ts';
import { isUniqueViolation } from '../db/index.ts';
import type { Orm } from '../db/db.ts';
import { hosts, tokens } from '../db/schema.ts';
import type { Principal } from '../auth/principal.ts';
import { hashSecret } from './tokens.ts';
import { invalidJoinToken, JoinTokenStore } from './join-tokens.ts';

const mismatch = (name: string) =>
  new HearthError(
    'HOST_IDENTITY_MISMATCH',
    `Registering host "${name}" failed: a host with that name is registered and this request did not present its agent credential.`,
  );

/** A new agent→manager credential for a host; stored as a hash, the secret returned once. */
async function insertAgentToken(tx: Orm, hostId: string, name: string) {
  const token = `hth_agent_${randomBytes(24).toString('base64url')}`;
  const id = newId('tok');
  await tx
    .insert(tokens)
    .values({ id, kind: 'agent', name: `agent ${name}`, hash: hashSecret(token), host_id: hostId });
  return { id, token };
}

/** What the agent client needs to reach a host. */
const target = {
  id: hosts.id,
  url: hosts.url,
  callback_token: hosts.callback_token,
  tls_pins: hosts.tls_pins,
};

/**
 * Host identity: who may register under a name, and the credentials of both directions. A new
 * name needs a usable join token (one use is taken); an existing name needs that host's current
 * agent credential, so a join token alone can never take over a registered host.
 */
export class HostCredentialStore {
  constructor(private readonly db: Db) {}

  /**
   * Registers a host (or re-registers it: same id, its agent credential replaced) in one
   * transaction; the callback token the agent sent becomes the manager's credential for it.
   */
  async register(
    principal: Principal,
    body: RegisterHostBody,
  ): Promise<{ hostId: string; agentToken: string }> {
    const fresh = {
      name: body.name,
      url: body.url,
      callback_token: body.callbackToken,
      inventory: body.inventory,
      state: 'ready' as const,
      last_heartbeat_at: sql`now()`,
    };
    try {
      return await this.db.orm.transaction(async (tx) => {
        const holder = (await tx.select({ id: hosts.id }).from(hosts).where(eq(hosts.name, body.name)))[0];
        let hostId: string;
        if (principal.kind === 'agent' && principal.hostId) {
          // The host's own credential: it may change its address, callback token or even its name.
          if (holder && holder.id !== principal.hostId) throw mismatch(body.name);
          const own = await tx
            .update(hosts)
            // The agent's labels are set over the host's; an administrator's other keys stay.
            .set({ ...fresh, labels: sql`${hosts.labels} || ${JSON.stringify(body.labels ?? {})}::jsonb` })
            .where(eq(hosts.id, principal.hostId))
            .returning({ id: hosts.id });
          if (!own[0])
            throw invalidJoinToken('the host credential belongs to a host that is no longer registered');
          hostId = own[0].id;
        } else {
          if (holder) throw mismatch(body.name);
          await JoinTokenStore.consume(tx, principal.tokenId ?? '');
          hostId = newId('host');
          await tx.insert(hosts).values({ id: hostId, ...fresh, labels: body.labels ?? {} });
        }
        await tx.delete(tokens).where(and(eq(tokens.kind, 'agent'), eq(tokens.host_id, hostId)));
        const { token } = await insertAgentToken(tx, hostId, body.name);
        return { hostId, agentToken: token };
      });
    } catch (e) {
      // Two registrations of one new name at once: the second finds it taken.
      if (isUniqueViolation(e, 'hosts_name')) throw mismatch(body.name);
      throw e;
    }
  }

  /** Rotation, step one: a second agent credential for the host, valid beside the current one. */
  issueAgentToken(hostId: string, name: string): Promise<{ id: string; token: string }> {
    return insertAgentToken(this.db.orm, hostId, name);
  }

  /**
   * Rotation, done: the new callback token is the one used; every other agent credential goes, and
   * with `pins` (a re-issued certificate) every other certificate of the host.
   */
  async finishRotation(hostId: string, keepTokenId: string, callbackToken: string, pins?: string[]) {
    return this.db.orm.transaction(async (tx) => {
      await tx
        .delete(tokens)
        .where(and(eq(tokens.kind, 'agent'), eq(tokens.host_id, hostId), ne(tokens.id, keepTokenId)));
      const rows = await tx
        .update(hosts)
        .set({ callback_token: callbackToken, ...(pins ? { tls_pins: pins } : {}) })
        .where(eq(hosts.id, hostId))
        .returning(target);
      return rows[0] ?? null;
    });
  }

  /**
   * The agent certificates accepted for the host from now on (null: unpinned, a plain-HTTP agent),
   * and whether the manager issues them; the host's address, token and pins as they now stand.
   */
  async pinCertificates(hostId: string, pins: string[] | null, issued?: boolean) {
    const rows = await this.db.orm
      .update(hosts)
      .set({ tls_pins: pins, ...(issued === undefined ? {} : { tls_issued: issued }) })
      .where(eq(hosts.id, hostId))
      .returning(target);
    return rows[0] ?? null;
  }

  /** Rotation failed before the agent switched: the credential it never received goes. */
  async dropToken(id: string): Promise<void> {
    await this.db.orm.delete(tokens).where(eq(tokens.id, id));
  }
}
