import type { FastifyInstance } from 'fastify';
import { routes } from '@hearth/contract';
import { serve } from '../http.ts';
import type { AppServices } from '../app.ts';
import { templateFromRow } from '../store/templates.ts';

/** Templates of the request's project; instances are created in it. */
export function templateRoutes(app: FastifyInstance, { stores, templates, auth }: AppServices): void {
  const t = auth;
  serve(app, t, routes.createTemplate, ({ body, project }) => templates.create({ ...body, project }));
  serve(app, t, routes.listTemplates, async ({ query, project }) => {
    const page = await stores.templates.list({ ...query, project });
    return { items: page.items.map(templateFromRow), nextCursor: page.nextCursor };
  });
  serve(app, t, routes.getTemplate, async ({ params, project }) =>
    templateFromRow(await stores.templates.require(params.id, project)),
  );
  serve(app, t, routes.patchTemplate, async ({ params, project, body }) => {
    const row = await stores.templates.require(params.id, project);
    return templateFromRow(await stores.templates.update(row.id, body));
  });
  serve(app, t, routes.deleteTemplate, async ({ params, project }) => {
    const row = await stores.templates.require(params.id, project);
    await stores.templates.delete(row.id);
    return templateFromRow(row);
  });
  serve(app, t, routes.instantiateTemplate, ({ params, project, body, actor }) =>
    templates.instantiate(params.id, project, body, actor),
  );
  serve(app, t, routes.saveVmAsTemplate, ({ params, project, body }) =>
    templates.fromVm(params.id, project, body),
  );
}
