import type { RouteDef } from './routes.ts';

const def = <const T extends RouteDef>(r: T): T => r;

/** Backups of the manager's state (docs/backups.md). */
export const backupRoutes = {
  createBackup: def({
    method: 'POST',
    path: '/v1/backup',
    summary:
      "A consistent archive (application/x-tar) of the manager's state: the database dump, its keys and CA, the image files, and manifest.json listing images, volumes and snapshots with sha256 checksums. Restore it with `hearth backup restore`.",
    tag: 'backups',
    auth: 'user',
    response: null,
    raw: { produces: ['application/x-tar'] },
    status: 200,
    errors: ['BACKUP_RUNNING'],
  }),
} as const;
