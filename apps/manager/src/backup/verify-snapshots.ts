import type { Logger } from 'pino';
import type { Db } from '../db/index.ts';
import type { AgentClient, AgentTarget } from '../services/agent-client.ts';
import type { Stores } from '../store/index.ts';

/**
 * After a backup restore (restore.ts marks every snapshot `verify`), a host's first heartbeat
 * has its snapshots checked against the sums recorded when they became ready: files missing, or
 * a file whose sha256 differs, sets `problem` on the snapshot and records a `snapshot-problem`
 * event on its VM (when it still has one). A snapshot without recorded sums is checked for
 * presence only, and gets the sums the host read. A host that fails to answer is asked again at
 * its next heartbeat. The returned function never throws: the heartbeat must not fail because of
 * it. One per manager (app): its memory of hosts is that manager's.
 */
export function snapshotVerifier(o: {
  db: Db;
  stores: Stores;
  agents: AgentClient;
  log: Logger;
}): (host: AgentTarget) => void {
  // Hosts being checked now: one check per host at a time, however often it heartbeats.
  const running = new Set<string>();
  // Hosts found with nothing to check: only a restore marks snapshots, and it runs before the
  // manager starts, so a host found clean stays clean for this manager and costs no more queries.
  const clean = new Set<string>();
  return (host) => {
    if (running.has(host.id) || clean.has(host.id)) return;
    running.add(host.id);
    void check(o, host)
      .then((nothing) => {
        if (nothing) clean.add(host.id);
      })
      .catch((e: Error) =>
        o.log.warn({ host: host.id, err: e.message }, 'checking snapshots after a restore failed'),
      )
      .finally(() => running.delete(host.id));
  };
}

async function check(
  o: { db: Db; stores: Stores; agents: AgentClient; log: Logger },
  host: AgentTarget,
): Promise<boolean> {
  const rows = await o.db.query<{
    id: string;
    name: string;
    vm_id: string | null;
    files: Record<string, string> | null;
  }>(`SELECT id, name, vm_id, files FROM snapshots WHERE host_id = $1 AND verify AND state = 'ready'`, [
    host.id,
  ]);
  if (!rows.length) return true;
  const r = await o.agents.call(host, 'checksums', {
    body: { volumes: [], snapshots: rows.map((s) => s.id) },
  });
  for (const s of rows) {
    const got = r.snapshots.find((x) => x.id === s.id);
    if (!got) continue;
    let problem: string | null = null;
    if (got.missing || !got.files) problem = `its files are missing on host ${host.id}`;
    else if (s.files) {
      const differ = Object.keys({ ...s.files, ...got.files })
        .sort()
        .filter((f) => s.files![f] !== got.files![f]);
      if (differ.length)
        problem = `its files differ from their checksums on host ${host.id}: ${differ.join(', ')}`;
    }
    await o.db.query(
      'UPDATE snapshots SET verify = false, problem = $2, files = COALESCE(files, $3::jsonb) WHERE id = $1',
      [s.id, problem, got.files ? JSON.stringify(got.files) : null],
    );
    if (!problem) continue;
    o.log.warn({ snapshot: s.id, host: host.id, problem }, 'a snapshot did not survive the restore');
    if (s.vm_id) {
      await o.stores.vms.addEvent(
        s.vm_id,
        'snapshot-problem',
        'backup-restore',
        `snapshot ${s.name} (${s.id}): ${problem}`,
      );
    }
  }
  return false;
}
