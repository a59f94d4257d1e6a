import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { openDb } from '../db/index.ts';
import { pgRestore } from '../db/dump.ts';
import { sha256File } from '@hearth/images';
import { MANIFEST, type BackupManifest } from './manifest.ts';

const run = promisify(execFile);

export interface RestoreReport {
  manifest: BackupManifest;
  dataDir: string;
  files: number;
}

/**
 * Rebuilds a manager's data directory from a backup archive: refuses a data directory that holds
 * anything, checks every file against the manifest's sha256 before using it, loads the database
 * (PGlite: its data directory; PostgreSQL: pg_restore into `databaseUrl`, which must be empty),
 * puts keys, CA and images back, and rewrites image paths recorded under the old data directory.
 * The manager then starts on it as usual; agents reconnect with their credentials and reconcile.
 */
export async function restoreBackup(o: {
  archive: string;
  dataDir: string;
  databaseUrl?: string | null;
}): Promise<RestoreReport> {
  const dataDir = resolve(o.dataDir);
  if (!(await stat(o.archive).catch(() => null))?.isFile()) {
    throw new Error(`Restoring failed: ${o.archive} is not a file.`);
  }
  const present = await readdir(dataDir).catch(() => null);
  if (present?.length) {
    throw new Error(`Restoring failed: ${dataDir} is not empty; restore into an empty or new directory.`);
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const stage = join(dataDir, '.restore');
  await mkdir(stage, { mode: 0o700 });
  try {
    await run('tar', ['-xf', resolve(o.archive), '-C', stage, '--no-same-owner'], {
      maxBuffer: 16 * 2 ** 20,
    });
    const manifest = JSON.parse(await readFile(join(stage, MANIFEST), 'utf8')) as BackupManifest;
    if (manifest.format !== 'hearth-backup' || manifest.version !== 1) {
      throw new Error(`Restoring failed: ${o.archive} is not a Hearth backup (version 1).`);
    }
    for (const f of manifest.files) {
      const sum = await sha256File(join(stage, f.path)).catch(() => null);
      if (sum !== f.sha256) {
        throw new Error(
          `Restoring failed: ${f.path} ${sum ? 'does not match its sha256' : 'is missing'} in ${o.archive}.`,
        );
      }
    }
    for (const img of manifest.images) {
      if (img.file && !manifest.files.some((f) => f.path === img.file)) {
        throw new Error(`Restoring failed: the file of image ${img.name} (${img.id}) is not in the archive.`);
      }
    }

    // Keys, tokens, CA: back where they were, relative to the data directory.
    for (const f of manifest.files.filter((x) => x.path.startsWith('state/'))) {
      const to = join(dataDir, f.path.slice('state/'.length));
      await mkdir(dirname(to), { recursive: true, mode: 0o700 });
      await rename(join(stage, f.path), to);
    }
    if (await stat(join(stage, 'images')).catch(() => null))
      await rename(join(stage, 'images'), join(dataDir, 'images'));

    const dbFile = join(stage, manifest.database.file);
    if (manifest.database.kind === 'pglite') {
      if (o.databaseUrl)
        throw new Error('Restoring failed: the backup holds a PGlite database; leave out --database-url.');
      const pg = new PGlite(join(dataDir, 'db'), { loadDataDir: new Blob([await readFile(dbFile)]) });
      await pg.waitReady;
      await pg.close();
    } else {
      if (!o.databaseUrl) {
        throw new Error(
          'Restoring failed: the backup holds a PostgreSQL dump; give --database-url of an empty database.',
        );
      }
      await pgRestore(o.databaseUrl, dbFile);
    }
    // Migrations newer than the backup run here too, once, as at any start.
    const db = await openDb({ url: o.databaseUrl ?? null, pgliteDir: join(dataDir, 'db') });
    try {
      const old = manifest.dataDir.replace(/\/$/, '') + '/images/';
      await db.query(
        'UPDATE images SET path = $1 || substr(path, length($2) + 1) WHERE starts_with(path, $2)',
        [join(dataDir, 'images') + '/', old],
      );
      // Snapshot files stayed on their hosts, which may have lost or changed them since: each
      // host's next heartbeat has its snapshots checked (verify-snapshots.ts).
      await db.query(`UPDATE snapshots SET verify = true, problem = NULL WHERE state = 'ready'`);
    } finally {
      await db.close();
    }
    return { manifest, dataDir, files: manifest.files.length };
  } catch (e) {
    // The directory was empty: a failed restore leaves it so, not half a manager.
    for (const name of await readdir(dataDir).catch(() => [])) {
      await rm(join(dataDir, name), { recursive: true, force: true });
    }
    throw e;
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}
