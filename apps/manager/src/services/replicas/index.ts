import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Db } from '../../db/index.ts';
import type { Stores } from '../../store/index.ts';
import { vmFromRow } from '../../store/mappers.ts';
import type { VmBus } from '../bus.ts';
import type { HostLiveness } from '../host-liveness.ts';
import { LeaderLease } from './leader.ts';
import { startRelay } from './relay.ts';
import { startSharedLiveness } from './shared-liveness.ts';
import { sharedOperations } from './shared-ops.ts';
import type { SharedOperations } from '../vms/operations.ts';

export { LeaderLease } from './leader.ts';

/**
 * This manager's replica id, kept in its data directory: a manager restarted on the same directory
 * is the same replica (it takes its own lease back at once, and what it left in flight is its own
 * to drive again), so two replicas must never share one.
 */
export async function replicaId(dataDir: string): Promise<string> {
  const path = join(dataDir, 'replica.id');
  const have = (await readFile(path, 'utf8').catch(() => '')).trim();
  if (have) return have;
  const id = `mgr_${randomBytes(6).toString('hex')}`;
  await writeFile(path, id + '\n');
  return id;
}

/**
 * What lets several managers share one PostgreSQL (docs/replicas.md): VM changes relayed between
 * them, host liveness read from the database's heartbeats, VM operations in flight recorded. The leader lease is made earlier
 * (`new LeaderLease`): the start decides with it whether hosts' records can be trusted.
 */
export async function startReplication(o: {
  db: Db;
  stores: Stores;
  bus: VmBus;
  live: HostLiveness;
  leader: LeaderLease;
  vms: { shareOperations(s: SharedOperations): void };
  hostOfflineMs: number;
  everyMs: number;
  log: Logger;
}): Promise<{ dispose(): Promise<void> }> {
  if (o.db.kind === 'pglite') return { dispose: async () => undefined };
  o.vms.shareOperations(sharedOperations(o.db, o.leader.id, o.leader.leaseMs, o.log));
  const relay = await startRelay({
    db: o.db,
    bus: o.bus,
    origin: o.leader.id,
    loadVm: async (id) => {
      const row = await o.stores.vms.getUnscoped(id);
      return row ? vmFromRow(row) : null;
    },
    log: o.log,
  });
  const stopLiveness = await startSharedLiveness({
    db: o.db,
    live: o.live,
    freshMs: o.hostOfflineMs,
    everyMs: o.everyMs,
    log: o.log,
  });
  return {
    async dispose() {
      stopLiveness();
      await relay.dispose();
    },
  };
}
