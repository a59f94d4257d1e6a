import type { FastifyInstance } from 'fastify';
import { routes } from '@hearth/contract';
import { serve } from '../http.ts';
import type { AppServices } from '../app.ts';
import { volumeFromRow } from '../store/volumes.ts';

/** Volumes of the request's project; attach finds the VM there too. */
export function volumeRoutes(app: FastifyInstance, { stores, volumes, auth }: AppServices): void {
  const t = auth;
  serve(app, t, routes.createVolume, ({ body, project }) => volumes.create({ ...body, project }));
  serve(app, t, routes.listVolumes, async ({ query, project }) => {
    const vm = query.vm ? (await stores.vms.require(query.vm, project)).id : undefined;
    const page = await stores.volumes.list({ project, vm, limit: query.limit, cursor: query.cursor });
    return { items: page.items.map(volumeFromRow), nextCursor: page.nextCursor };
  });
  serve(app, t, routes.getVolume, ({ params, project }) => volumes.get(params.id, project));
  serve(app, t, routes.deleteVolume, ({ params, project }) => volumes.delete(params.id, project));
  serve(app, t, routes.attachVolume, ({ params, project, body }) =>
    volumes.attach(params.id, project, body.vm, body.readOnly),
  );
  serve(app, t, routes.detachVolume, ({ params, project }) => volumes.detach(params.id, project));
  serve(app, t, routes.resizeVolume, ({ params, project, body }) =>
    volumes.resize(params.id, project, body.size),
  );
}
