import type { Db } from '../db/index.ts';
import type { MovePhase } from '../db/schema-moves.ts';

export interface MoveRow {
  vm_id: string;
  from_host: string;
  to_host: string;
  mode: 'live' | 'cold' | 'snapshot';
  phase: MovePhase;
  replica: string;
}

/**
 * Moves between hosts in flight (migration 50), each with the manager replica driving it: one
 * that finds a move whose replica is gone (a killed manager) resolves it (move-recovery.ts).
 */
export class MoveStore {
  constructor(private readonly db: Db) {}

  async begin(m: Omit<MoveRow, 'phase'>): Promise<void> {
    await this.db.query(
      `INSERT INTO vm_moves (vm_id, from_host, to_host, mode, phase, replica)
       VALUES ($1, $2, $3, $4, 'preparing', $5)
       ON CONFLICT (vm_id) DO UPDATE SET from_host = EXCLUDED.from_host, to_host = EXCLUDED.to_host,
         mode = EXCLUDED.mode, phase = 'preparing', replica = EXCLUDED.replica, started_at = now()`,
      [m.vm_id, m.from_host, m.to_host, m.mode, m.replica],
    );
  }

  async phase(vmId: string, phase: MovePhase): Promise<void> {
    await this.db.query(`UPDATE vm_moves SET phase = $2 WHERE vm_id = $1`, [vmId, phase]);
  }

  async end(vmId: string): Promise<void> {
    await this.db.query(`DELETE FROM vm_moves WHERE vm_id = $1`, [vmId]);
  }

  get(vmId: string): Promise<MoveRow | undefined> {
    return this.db.query<MoveRow>(`SELECT * FROM vm_moves WHERE vm_id = $1`, [vmId]).then((r) => r[0]);
  }

  /**
   * Moves not of this process (`me`, "replica#process") whose replica is this one (an earlier
   * process: a restarted manager keeps its replica id) or has not renewed its presence within
   * `aliveMs` (with one process on PGlite, no other replica is ever alive).
   */
  orphaned(me: string, aliveMs: number): Promise<MoveRow[]> {
    return this.db.query<MoveRow>(
      `SELECT m.* FROM vm_moves m
        WHERE m.replica <> $1
          AND (split_part(m.replica, '#', 1) = split_part($1, '#', 1)
               OR NOT EXISTS (SELECT 1 FROM manager_replicas r
                               WHERE r.id = split_part(m.replica, '#', 1)
                                 AND r.seen_at > now() - ($2 * interval '1 millisecond')))`,
      [me, aliveMs],
    );
  }
}
