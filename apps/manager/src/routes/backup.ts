import type { FastifyInstance } from 'fastify';
import { routes } from '@hearth/contract';
import { serve } from '../http.ts';
import type { AppServices } from '../app.ts';
import { backupFileName, createBackup } from '../backup/create.ts';

/** POST /v1/backup: the manager's state as one tar archive (docs/backups.md). */
export function backupRoutes(app: FastifyInstance, { db, stores, auth, dataDir }: AppServices): void {
  serve(app, auth, routes.createBackup, async ({ reply }) => {
    if (!dataDir) throw new Error('Backing up failed: this manager was started without a data directory.');
    const stream = await createBackup({ db, stores, dataDir });
    reply.type('application/x-tar');
    reply.header('content-disposition', `attachment; filename="${backupFileName()}"`);
    return reply.send(stream);
  });
}
