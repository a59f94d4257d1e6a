import type { FastifyInstance } from 'fastify';
import { HearthError, routes } from '@hearth/contract';
import { serve } from '../http.ts';
import type { AppServices } from '../app.ts';

/** Webhooks: a project's owners subscribe URLs to its events and read their delivery logs. */
export function webhookRoutes(app: FastifyInstance, { webhooks, auth: t }: AppServices): void {
  const hooks = () => {
    if (!webhooks) throw new HearthError('WEBHOOK_NOT_FOUND', 'This manager runs without webhooks.');
    return webhooks;
  };
  serve(app, t, routes.createWebhook, ({ body, project, principal }) =>
    hooks().create(project, body, principal.name),
  );
  serve(app, t, routes.listWebhooks, ({ project }) => hooks().list(project));
  serve(app, t, routes.deleteWebhook, ({ params, project }) => hooks().delete(params.id, project));
  serve(app, t, routes.testWebhook, ({ params, project, principal }) =>
    hooks().test(params.id, project, principal.name),
  );
  serve(app, t, routes.webhookDeliveries, ({ params, project }) => hooks().deliveries(params.id, project));
}
