import type { FastifyInstance } from 'fastify';
import { routes } from '@hearth/contract';
import { serve } from '../http.ts';
import type { AppServices } from '../app.ts';

/** Warm pools of the request's project; their VMs are created in it. */
export function poolRoutes(app: FastifyInstance, { pools, auth }: AppServices): void {
  const t = auth;
  serve(app, t, routes.createPool, ({ body, project }) => pools.create(body, project));
  serve(app, t, routes.listPools, ({ query, project }) => pools.list({ ...query, project }));
  serve(app, t, routes.getPool, ({ params, project }) => pools.get(params.id, project));
  serve(app, t, routes.patchPool, ({ params, project, body }) => pools.patch(params.id, project, body));
  serve(app, t, routes.deletePool, ({ params, project }) => pools.delete(params.id, project));
}
