import type { FastifyInstance } from 'fastify';
import { routes } from '@hearth/contract';
import { serve } from '../http.ts';
import type { AppServices } from '../app.ts';
import { snapshotFromRow } from '../store/snapshots.ts';

export function snapshotRoutes(app: FastifyInstance, { stores, snapshots, auth }: AppServices): void {
  const t = auth;
  serve(app, t, routes.createSnapshot, ({ params, body, actor }) => snapshots.create(params.id, body, actor));
  serve(app, t, routes.listSnapshots, async ({ query }) => {
    const vm = query.vm ? (await stores.vms.require(query.vm)).id : undefined;
    const page = await stores.snapshots.list({ vm, limit: query.limit, cursor: query.cursor });
    return { items: page.items.map(snapshotFromRow), nextCursor: page.nextCursor };
  });
  serve(app, t, routes.getSnapshot, ({ params }) => snapshots.get(params.id));
  serve(app, t, routes.deleteSnapshot, ({ params }) => snapshots.delete(params.id));
  serve(app, t, routes.cloneSnapshot, ({ params, body, actor }) => snapshots.clone(params.id, body, actor));
  serve(app, t, routes.restoreVm, ({ params, body, actor }) =>
    snapshots.restoreInPlace(params.id, body.snapshot, actor),
  );
}
