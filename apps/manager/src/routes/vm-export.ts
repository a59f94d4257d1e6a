import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { HearthError, routes } from '@hearth/contract';
import { serve } from '../http.ts';
import type { AppServices } from '../app.ts';
import { exportVm } from '../vm-export/export.ts';
import { importArchive } from '../vm-export/import.ts';

/** VM export and import between installations (docs/backups.md § VM export). */
export function vmExportRoutes(app: FastifyInstance, deps: AppServices): void {
  const { auth, stores, agents, snapshots, images, vmService, log } = deps;
  serve(app, auth, routes.exportVm, async ({ params, body, project, actor, reply }) => {
    const { stream, fileName } = await exportVm(
      { stores, agents, snapshots, log: log.child({ part: 'vm-export' }) },
      params.id,
      project,
      body,
      actor,
    );
    reply.type('application/x-tar');
    reply.header('content-disposition', `attachment; filename="${fileName}"`);
    return reply.send(stream);
  });

  serve(app, auth, routes.importVm, async ({ query, project, actor, req, reply }) => {
    const body = req.body as Readable | undefined;
    if (!body || typeof body.pipe !== 'function') {
      throw new HearthError(
        'VALIDATION_FAILED',
        'Importing the VM failed: send the archive as the raw body with Content-Type: application/x-tar.',
      );
    }
    const vm = await importArchive(
      { stores, images, vmService, log: log.child({ part: 'vm-import' }) },
      body,
      query,
      project,
      actor,
    );
    reply.code(201);
    return vm;
  });
}
