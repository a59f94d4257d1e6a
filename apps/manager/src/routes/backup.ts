import type { FastifyInstance } from 'fastify';
import { HearthError, routes } from '@hearth/contract';
import { flushHeadersOnPipe } from '@hearth/contract/streams';
import { serve } from '../http.ts';
import type { AppServices } from '../app.ts';
import { backupFileName, createBackup } from '../backup/create.ts';

/** POST /v1/backup: the manager's state as one tar archive (docs/backups.md). */
export function backupRoutes(app: FastifyInstance, { db, stores, auth, dataDir, agents }: AppServices): void {
  // A backup dumps the database and reads every image: one at a time, the others refused at once.
  let running = false;
  serve(app, auth, routes.createBackup, async ({ reply }) => {
    if (!dataDir) throw new Error('Backing up failed: this manager was started without a data directory.');
    if (running) throw new HearthError('BACKUP_RUNNING', 'Backing up failed: a backup is running.');
    running = true;
    const stream = createBackup({ db, stores, dataDir, agents }, () => (running = false));
    // Status and headers go now; the archive follows once the backup is staged.
    flushHeadersOnPipe(reply.raw);
    reply.type('application/x-tar');
    reply.header('content-disposition', `attachment; filename="${backupFileName()}"`);
    return reply.send(stream);
  });
}
