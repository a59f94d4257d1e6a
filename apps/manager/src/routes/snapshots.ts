import type { FastifyInstance } from 'fastify';
import { routes } from '@hearth/contract';
import { serve } from '../http.ts';
import type { AppServices } from '../app.ts';
import { snapshotFromRow } from '../store/snapshots.ts';

/** Snapshots of the request's project; clones and restores stay in it. */
export function snapshotRoutes(app: FastifyInstance, { stores, snapshots, auth }: AppServices): void {
  const t = auth;
  serve(app, t, routes.createSnapshot, ({ params, project, body, actor }) =>
    snapshots.create(params.id, project, body, actor),
  );
  serve(app, t, routes.listSnapshots, async ({ query, project }) => {
    const vm = query.vm ? (await stores.vms.require(query.vm, project)).id : undefined;
    const page = await stores.snapshots.list({ project, vm, limit: query.limit, cursor: query.cursor });
    return { items: page.items.map(snapshotFromRow), nextCursor: page.nextCursor };
  });
  serve(app, t, routes.getSnapshot, ({ params, project }) => snapshots.get(params.id, project));
  serve(app, t, routes.deleteSnapshot, ({ params, project }) => snapshots.delete(params.id, project));
  serve(app, t, routes.cloneSnapshot, ({ params, project, body, actor }) =>
    snapshots.clone(params.id, project, body, actor),
  );
  serve(app, t, routes.restoreVm, ({ params, project, body, actor }) =>
    snapshots.restoreInPlace(params.id, project, body.snapshot, actor),
  );
}
