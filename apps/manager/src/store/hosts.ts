import { HearthError, newId, type HostInventory } from '@hearth/contract';
import type { Db } from '../db/index.ts';
import { decodeCursor, pageResult } from './page.ts';
import type { HostRow } from './mappers.ts';

const WITH_ALLOC = `SELECT h.*, COALESCE(a.vm_count, 0) AS vm_count, COALESCE(a.cpus, 0) AS alloc_vcpus,
    COALESCE(a.mem, 0) AS alloc_mem
  FROM hosts h LEFT JOIN (
    SELECT host_id, count(*) AS vm_count,
      sum(CASE WHEN state IN ('starting','running','pausing','paused','resuming','stopping') THEN vcpus ELSE 0 END) AS cpus,
      sum(CASE WHEN state IN ('starting','running','pausing','paused','resuming','stopping') THEN memory_mib ELSE 0 END) AS mem
    FROM vms GROUP BY host_id) a ON a.host_id = h.id`;

export class HostStore {
  constructor(private readonly db: Db) {}

  /** Registration is idempotent by name: a re-registering agent keeps its host id. */
  async upsert(name: string, url: string, callbackToken: string, inventory: HostInventory): Promise<HostRow> {
    const rows = await this.db.query<HostRow>(
      `INSERT INTO hosts (id, name, url, callback_token, inventory, state, last_heartbeat_at)
       VALUES ($1, $2, $3, $4, $5::jsonb, 'ready', now())
       ON CONFLICT (name) DO UPDATE SET url = EXCLUDED.url, callback_token = EXCLUDED.callback_token,
         inventory = EXCLUDED.inventory, state = 'ready', last_heartbeat_at = now()
       RETURNING *`,
      [newId('host'), name, url, callbackToken, JSON.stringify(inventory)],
    );
    return rows[0]!;
  }

  /** The host's address and token as registered; null when no host has that id. */
  async heartbeat(
    id: string,
    inventory: HostInventory,
  ): Promise<Pick<HostRow, 'id' | 'url' | 'callback_token'> | null> {
    const rows = await this.db.query<Pick<HostRow, 'id' | 'url' | 'callback_token'>>(
      `UPDATE hosts SET inventory = $2::jsonb, state = 'ready', last_heartbeat_at = now() WHERE id = $1
       RETURNING id, url, callback_token`,
      [id, JSON.stringify(inventory)],
    );
    return rows[0] ?? null;
  }

  /**
   * At manager start nothing is known about any host: each is offline until its agent registers
   * or heartbeats to this process (its last address may be stale, its agent may be gone).
   */
  async markAllOffline(): Promise<void> {
    await this.db.query(`UPDATE hosts SET state = 'offline' WHERE state = 'ready'`);
  }

  async markStale(olderThanMs: number): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>(
      `UPDATE hosts SET state = 'offline' WHERE state = 'ready' AND last_heartbeat_at < now() - ($1 * interval '1 millisecond') RETURNING id`,
      [olderThanMs],
    );
    return rows.map((r) => r.id);
  }

  async list(limit: number, cursor?: string) {
    const after = decodeCursor(cursor);
    const rows = await this.db.query<HostRow>(`${WITH_ALLOC} WHERE h.id > $1 ORDER BY h.id LIMIT $2`, [
      after ?? '',
      limit + 1,
    ]);
    return pageResult(rows, limit, (r) => r.id);
  }

  all(): Promise<HostRow[]> {
    return this.db.query<HostRow>(`${WITH_ALLOC} ORDER BY h.id`);
  }

  async get(idOrName: string): Promise<HostRow | null> {
    const rows = await this.db.query<HostRow>(`${WITH_ALLOC} WHERE h.id = $1 OR h.name = $1 LIMIT 1`, [
      idOrName,
    ]);
    return rows[0] ?? null;
  }

  async require(idOrName: string): Promise<HostRow> {
    const h = await this.get(idOrName);
    if (!h)
      throw new HearthError(
        'HOST_NOT_FOUND',
        `Finding host "${idOrName}" failed: no host has that id or name.`,
      );
    return h;
  }
}
