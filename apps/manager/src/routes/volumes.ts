import type { FastifyInstance } from 'fastify';
import { routes } from '@hearth/contract';
import { serve } from '../http.ts';
import type { AppServices } from '../app.ts';
import { volumeFromRow } from '../store/volumes.ts';

export function volumeRoutes(app: FastifyInstance, { stores, volumes, auth }: AppServices): void {
  const t = auth;
  serve(app, t, routes.createVolume, ({ body }) => volumes.create(body));
  serve(app, t, routes.listVolumes, async ({ query }) => {
    const vm = query.vm ? (await stores.vms.require(query.vm)).id : undefined;
    const page = await stores.volumes.list({ vm, limit: query.limit, cursor: query.cursor });
    return { items: page.items.map(volumeFromRow), nextCursor: page.nextCursor };
  });
  serve(app, t, routes.getVolume, ({ params }) => volumes.get(params.id));
  serve(app, t, routes.deleteVolume, ({ params }) => volumes.delete(params.id));
  serve(app, t, routes.attachVolume, ({ params, body }) => volumes.attach(params.id, body.vm, body.readOnly));
  serve(app, t, routes.detachVolume, ({ params }) => volumes.detach(params.id));
  serve(app, t, routes.resizeVolume, ({ params, body }) => volumes.resize(params.id, body.size));
}
