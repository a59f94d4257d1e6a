import type { Logger } from 'pino';
import type { Db } from '../../db/index.ts';
import type { HostLiveness } from '../host-liveness.ts';

/**
 * With several manager replicas (PostgreSQL), each agent heartbeats to one of them: every `everyMs`
 * each replica reads which hosts heartbeated within `freshMs` (by the database's clock) and trusts
 * their recorded addresses (HostLiveness.trustRecent), so any replica can call any live agent.
 * Returns a stop function; the first read is done when the promise resolves.
 */
export async function startSharedLiveness(o: {
  db: Db;
  live: HostLiveness;
  freshMs: number;
  everyMs: number;
  log: Logger;
}): Promise<() => void> {
  let running = false;
  const read = async () => {
    if (running) return;
    running = true;
    try {
      const rows = await o.db.query<{
        id: string;
        url: string;
        callback_token: string;
        tls_pins: string[] | null;
        beat: number;
      }>(
        `SELECT id, url, callback_token, tls_pins,
                floor(extract(epoch FROM last_heartbeat_at) * 1000)::float8 AS beat
           FROM hosts
          WHERE state = 'ready' AND last_heartbeat_at > now() - ($1 * interval '1 millisecond')`,
        [o.freshMs],
      );
      o.live.trustRecent(
        rows.map((r) => ({
          target: { id: r.id, url: r.url, callback_token: r.callback_token, tls_pins: r.tls_pins },
          heartbeatMs: Number(r.beat),
        })),
      );
    } catch (e) {
      // The database is away: what is known stays known until it answers again.
      o.log.warn({ err: (e as Error).message }, 'reading host heartbeats failed');
    } finally {
      running = false;
    }
  };
  await read();
  const timer = setInterval(() => void read(), o.everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
