// Backup and restore of a manager with N VM records (default 1,000), PGlite or PostgreSQL: the
// records (with three events each) are inserted straight into the database, then the archive is
// taken over the API (POST /v1/backup, as `hearth backup create` does) and restored into an empty
// data directory (restoreBackup, as `hearth backup restore` does). No agent, no VM runs.
// Usage: node --import tsx bench/backup.ts [--vms 1000] [--rounds 3] [--postgres]
// (--postgres needs HEARTH_TEST_PG_URL: scripts/with-pg.sh sets it.)
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { restoreBackup } from '@hearth/manager';
import { startPlatform } from '../test/helpers/platform.ts';
import { freshDatabase, testPgUrl } from '../test/helpers/pg.ts';
import { arg, stats } from './lib.ts';

const n = arg('vms', 1000);
const rounds = arg('rounds', 3);
const postgres = process.argv.includes('--postgres');

const p = await startPlatform({ agent: false, ...(postgres ? { db: 'postgres' as const } : {}) });
try {
  const [img] = await p.manager.db.query<{ id: string }>(
    "SELECT id FROM images WHERE kind = 'rootfs' LIMIT 1",
  );
  const [krn] = await p.manager.db.query<{ id: string }>(
    "SELECT id FROM images WHERE kind = 'kernel' LIMIT 1",
  );
  await p.manager.db.query(
    `INSERT INTO vms (id, name, project, state, desired_state, vcpus, memory_mib, disk_mib, image_id, kernel_id, labels, env)
     SELECT 'vm_bench' || lpad(i::text, 6, '0'), 'bench-' || i, 'default', 'stopped', 'stopped', 1, 256, 1024, $1, $2,
            jsonb_build_object('bench', 'yes', 'n', i::text), jsonb_build_object('GREETING', 'hello ' || i)
     FROM generate_series(1, $3::int) AS i`,
    [img!.id, krn!.id, n],
  );
  await p.manager.db.query(
    `INSERT INTO vm_events (id, vm_id, type, to_state, actor, reason)
     SELECT 'evt_bench' || v.id || '_' || k, v.id, 'state', 'stopped', 'bench', 'inserted by bench/backup.ts'
     FROM vms v, generate_series(1, 3) AS k WHERE v.id LIKE 'vm_bench%'`,
  );
  const backups: number[] = [];
  const restores: number[] = [];
  let size = 0;
  for (let r = 0; r < rounds; r++) {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-bench-backup-'));
    try {
      const file = join(dir, 'backup.tar');
      let t = performance.now();
      const res = await p.client.raw('createBackup', {});
      await pipeline(Readable.fromWeb(res.body as never), createWriteStream(file));
      backups.push(performance.now() - t);
      size = (await stat(file)).size;
      let url: string | null = null;
      let drop: (() => Promise<void>) | null = null;
      if (postgres) {
        const fresh = await freshDatabase(testPgUrl()!);
        url = fresh.url;
        drop = fresh.drop;
      }
      t = performance.now();
      const out = await restoreBackup({ archive: file, dataDir: join(dir, 'restored'), databaseUrl: url });
      restores.push(performance.now() - t);
      if (out.manifest.vms !== n) throw new Error(`restored ${out.manifest.vms} VMs, wanted ${n}`);
      await drop?.();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  console.log(
    `${postgres ? 'PostgreSQL' : 'PGlite'}, ${n} VM records, archive ${(size / 2 ** 20).toFixed(1)} MiB`,
  );
  console.log(stats('backup (POST /v1/backup to a file)', backups));
  console.log(stats('restore (restoreBackup into an empty dir)', restores));
} finally {
  await p.dispose();
}
