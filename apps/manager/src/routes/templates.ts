import type { FastifyInstance } from 'fastify';
import { routes } from '@hearth/contract';
import { serve } from '../http.ts';
import type { AppServices } from '../app.ts';
import { templateFromRow } from '../store/templates.ts';

export function templateRoutes(app: FastifyInstance, { stores, templates, auth }: AppServices): void {
  const t = auth;
  serve(app, t, routes.createTemplate, ({ body }) => templates.create(body));
  serve(app, t, routes.listTemplates, async ({ query }) => {
    const page = await stores.templates.list(query);
    return { items: page.items.map(templateFromRow), nextCursor: page.nextCursor };
  });
  serve(app, t, routes.getTemplate, async ({ params }) =>
    templateFromRow(await stores.templates.require(params.id)),
  );
  serve(app, t, routes.patchTemplate, async ({ params, body }) => {
    const row = await stores.templates.require(params.id);
    return templateFromRow(await stores.templates.update(row.id, body));
  });
  serve(app, t, routes.deleteTemplate, async ({ params }) => {
    const row = await stores.templates.require(params.id);
    await stores.templates.delete(row.id);
    return templateFromRow(row);
  });
  serve(app, t, routes.instantiateTemplate, ({ params, body, actor }) =>
    templates.instantiate(params.id, body, actor),
  );
  serve(app, t, routes.saveVmAsTemplate, ({ params, body }) => templates.fromVm(params.id, body));
}
