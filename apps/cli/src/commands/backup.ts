import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { printJson, reportError } from '../output.ts';
import { act } from './vm.ts';

/** `hearth backup create|restore` (docs/backups.md). */
export function backupCommands(program: Command): void {
  const backup = program.command('backup').description("Backups of the manager's state");

  backup
    .command('create')
    .description('Write a consistent archive of the manager: database, keys, CA, images and a manifest')
    .option('--out <file>', 'archive to write (default hearth-backup-<time>.tar here; - for standard output)')
    .action(
      act(program, async (c, json, o: { out?: string }) => {
        const started = Date.now();
        const res = await c.raw('createBackup', {});
        const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1];
        const body = Readable.fromWeb(res.body as never);
        if (o.out === '-') return pipeline(body, process.stdout);
        const out = o.out ?? name ?? 'hearth-backup.tar';
        // Written beside, renamed when complete: a failed backup never looks like a good one.
        const part = `${out}.part`;
        try {
          await pipeline(body, createWriteStream(part, { mode: 0o600 }));
          await rename(part, out);
        } catch (e) {
          await rm(part, { force: true });
          throw e;
        }
        const ms = Date.now() - started;
        if (json) return printJson({ file: out, ms });
        console.log(`backup written to ${out} in ${(ms / 1000).toFixed(1)} s`);
      }),
    );

  backup
    .command('restore <file>')
    .description('Rebuild a manager data directory from a backup (the manager must not be running on it)')
    // --data-dir is the global option (the data directory the CLI works with), read from the program.
    .addHelpText('after', '\n  --data-dir <dir> (required): the new, empty data directory of the manager')
    .option('--database-url <url>', 'an empty PostgreSQL database (backups of a PostgreSQL manager)')
    .action(async (file: string, o: { databaseUrl?: string }) => {
      const g = program.opts<{ json?: boolean; dataDir?: string }>();
      const json = Boolean(g.json);
      try {
        if (!g.dataDir)
          throw new Error('Restoring failed: give the new data directory with --data-dir <dir>.');
        const started = Date.now();
        const { restoreBackup } = await import('@hearth/manager');
        const r = await restoreBackup({
          archive: file,
          dataDir: g.dataDir,
          databaseUrl: o.databaseUrl ?? null,
        });
        const ms = Date.now() - started;
        if (json) return printJson({ dataDir: r.dataDir, manifest: r.manifest, ms });
        const m = r.manifest;
        console.log(
          `restored ${m.database.kind} database, ${m.vms} VMs, ${m.images.length} images, ${m.snapshots.length} snapshots, ${m.volumes.length} volumes into ${r.dataDir} in ${(ms / 1000).toFixed(1)} s`,
        );
        console.log('Start the manager on it; agents reconnect and reconcile their VMs.');
      } catch (e) {
        process.exitCode = reportError(e, json);
      }
    });
}
