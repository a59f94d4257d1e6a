import type { FastifyInstance } from 'fastify';
import { routes } from '@hearth/contract';
import { serve } from '../http.ts';
import type { AppServices } from '../app.ts';

export function networkRoutes(app: FastifyInstance, { stores, networks, auth }: AppServices): void {
  const t = auth;
  serve(app, t, routes.createNetwork, ({ body }) => networks.create(body));
  serve(app, t, routes.listNetworks, ({ query }) => networks.list(query));
  serve(app, t, routes.getNetwork, ({ params }) => networks.get(params.id));
  serve(app, t, routes.deleteNetwork, ({ params }) => networks.delete(params.id));
  serve(app, t, routes.listLeases, ({ params }) => networks.leases(params.id));
}
