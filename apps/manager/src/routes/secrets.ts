import type { FastifyInstance } from 'fastify';
import { routes } from '@hearth/contract';
import { serve } from '../http.ts';
import type { AppServices } from '../app.ts';

/** Project secrets: write-only values (sealed at rest), listed by name. */
export function secretRoutes(app: FastifyInstance, { secrets, auth: t }: AppServices): void {
  serve(app, t, routes.putSecret, ({ params, project, body }) =>
    secrets.put(project, params.name, body.value),
  );
  serve(app, t, routes.listSecrets, ({ query, project }) => secrets.list({ ...query, project }));
  serve(app, t, routes.deleteSecret, ({ params, project }) => secrets.delete(project, params.name));
}
