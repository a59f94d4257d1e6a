import type { FastifyInstance } from 'fastify';
import { routes } from '@hearth/contract';
import { serve } from '../http.ts';
import type { AppServices } from '../app.ts';

/** Networks of the request's project, and the shared ones (deleting those needs an admin). */
export function networkRoutes(app: FastifyInstance, { networks, auth }: AppServices): void {
  const t = auth;
  serve(app, t, routes.createNetwork, ({ body, project }) => networks.create(body, project));
  serve(app, t, routes.listNetworks, ({ query, project }) => networks.list({ ...query, project }));
  serve(app, t, routes.getNetwork, ({ params, project }) => networks.get(params.id, project));
  serve(app, t, routes.deleteNetwork, ({ params, project, principal }) =>
    networks.delete(params.id, project, () => auth.check(principal, 'admin', project)),
  );
  serve(app, t, routes.listLeases, ({ params, project }) => networks.leases(params.id, project));
}
