import type { FastifyInstance } from 'fastify';
import { routes } from '@hearth/contract';
import { serve } from '../http.ts';
import type { AppServices } from '../app.ts';

/** Moving VMs between hosts: migrate one, drain a host (docs/migration.md). */
export function migrationRoutes(app: FastifyInstance, { vmService, auth }: AppServices): void {
  serve(app, auth, routes.migrateVm, async ({ params, project, body, actor }) =>
    vmService.migrate(params.id, project, actor, body.toHost),
  );
  serve(app, auth, routes.drainHost, async ({ params, actor, reply }) => {
    reply.code(202);
    return vmService.drainHost(params.id, actor);
  });
}
