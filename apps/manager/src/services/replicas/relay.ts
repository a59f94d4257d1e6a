import type { Logger } from 'pino';
import type { Vm } from '@hearth/contract';
import type { Db } from '../../db/index.ts';
import type { BusChange, VmBus } from '../bus.ts';

/** The PostgreSQL channel VM changes travel on between manager replicas. */
export const EVENTS_CHANNEL = 'hearth_events';

/** NOTIFY payloads are limited to 8000 bytes: a change larger than this travels as its VM's id. */
const MAX_PAYLOAD = 7000;

type Wire =
  | { o: string; k: 'vm'; vm: Vm; from?: Vm['state'] }
  | { o: string; k: 'vmid'; id: string; from?: Vm['state'] }
  | { o: string; k: 'gone'; id: string; project: string };

export interface RelayDeps {
  db: Db;
  bus: VmBus;
  /** This replica's id: its own notifications come back to it and are dropped. */
  origin: string;
  /** The VM as it is now (a change too large for a notification is re-read). */
  loadVm(id: string): Promise<Vm | null>;
  log: Logger;
}

/**
 * VM changes across manager replicas through PostgreSQL LISTEN/NOTIFY: each local change is sent
 * (in order, one notification after the other) and each change from another replica is emitted on
 * this process's bus flagged remote, so waits, the event stream and the leader's background work
 * see every replica's changes. Notifications sent while this replica's listening connection was
 * down are lost: after a reconnect, event streams get a `resync` (clients refetch). PGlite: none.
 */
export async function startRelay(deps: RelayDeps): Promise<{ dispose(): Promise<void> }> {
  const { db, bus, origin, log } = deps;
  if (!db.listen) return { dispose: async () => undefined };
  let sending: Promise<unknown> = Promise.resolve();
  bus.relay = (change: BusChange) => {
    const text = encode(origin, change);
    sending = sending
      .then(() => db.query('SELECT pg_notify($1, $2)', [EVENTS_CHANNEL, text]))
      .catch((e: Error) => log.warn({ err: e.message }, 'relaying a VM change to the other replicas failed'));
  };
  let receiving: Promise<unknown> = Promise.resolve();
  const stop = await db.listen(
    EVENTS_CHANNEL,
    (payload) => {
      let w: Wire;
      try {
        w = JSON.parse(payload) as Wire;
      } catch {
        return;
      }
      if (w.o === origin) return;
      // One after the other: a re-read VM must not overtake the change after it.
      receiving = receiving
        .then(() => decode(w, deps))
        .then(
          (change) => change && bus.remote(change),
          (e: Error) => log.warn({ err: e.message }, 'a VM change from another replica was dropped'),
        );
    },
    () => {
      log.warn('the listening connection to PostgreSQL came back: changes meanwhile were missed');
      bus.emit('resync');
    },
  );
  return {
    async dispose() {
      bus.relay = null;
      await sending;
      await stop();
    },
  };
}

function encode(origin: string, c: BusChange): string {
  if (c.kind === 'gone') return JSON.stringify({ o: origin, k: 'gone', id: c.vmId, project: c.project });
  const full = JSON.stringify({ o: origin, k: 'vm', vm: c.vm, ...(c.from ? { from: c.from } : {}) });
  if (Buffer.byteLength(full) <= MAX_PAYLOAD) return full;
  return JSON.stringify({ o: origin, k: 'vmid', id: c.vm.id, ...(c.from ? { from: c.from } : {}) });
}

async function decode(w: Wire, deps: RelayDeps): Promise<BusChange | null> {
  if (w.k === 'gone') return { kind: 'gone', vmId: w.id, project: w.project };
  if (w.k === 'vm') return { kind: 'vm', vm: w.vm, ...(w.from ? { from: w.from } : {}) };
  const vm = await deps.loadVm(w.id);
  return vm ? { kind: 'vm', vm, ...(w.from ? { from: w.from } : {}) } : null;
}
