import type { Logger } from 'pino';
import type { Db } from '../../db/index.ts';
import type { SharedOperations } from '../vms/operations.ts';

/**
 * VM operations in flight, recorded in the database with the replica running them: a heartbeat
 * that reaches another replica must not drive a VM in a transitional state again while its
 * operation runs elsewhere (a boot under TCG takes a minute). An operation whose replica stopped
 * renewing its presence (killed) counts as interrupted: the reconciler drives it again. Writes are
 * queued one after the other (a begin never overtakes its end); a failed write is logged.
 */
export function sharedOperations(db: Db, replica: string, aliveMs: number, log: Logger): SharedOperations {
  let queue: Promise<unknown> = Promise.resolve();
  const write = (sql: string, params: unknown[]) => {
    queue = queue
      .then(() => db.query(sql, params))
      .catch((e: Error) =>
        log.warn({ err: e.message }, 'recording a VM operation for the other replicas failed'),
      );
  };
  return {
    begin(vmId) {
      write(
        `INSERT INTO manager_operations (vm_id, replica) VALUES ($1, $2)
         ON CONFLICT (vm_id) DO UPDATE SET replica = EXCLUDED.replica, started_at = now()`,
        [vmId, replica],
      );
    },
    end(vmId) {
      write(`DELETE FROM manager_operations WHERE vm_id = $1 AND replica = $2`, [vmId, replica]);
    },
    async elsewhere() {
      const rows = await db.query<{ vm_id: string }>(
        `SELECT o.vm_id FROM manager_operations o JOIN manager_replicas r ON r.id = o.replica
          WHERE o.replica <> $1 AND r.seen_at > now() - ($2 * interval '1 millisecond')`,
        [replica, aliveMs],
      );
      return new Set(rows.map((r) => r.vm_id));
    },
  };
}
