import type { FastifyInstance } from 'fastify';
import { routes } from '@hearth/contract';
import { serve } from '../http.ts';
import type { AppServices } from '../app.ts';
import { scheduleFromRow } from '../store/schedules.ts';

/** Snapshot schedules of the request's project. */
export function scheduleRoutes(app: FastifyInstance, { stores, schedules, auth }: AppServices): void {
  serve(app, auth, routes.createSchedule, ({ project, body, actor }) =>
    schedules.create(project, body, actor),
  );
  serve(app, auth, routes.listSchedules, async ({ query, project }) => {
    const vm = query.vm ? (await stores.vms.require(query.vm, project)).id : undefined;
    const page = await stores.schedules.list({ project, vm, limit: query.limit, cursor: query.cursor });
    return { items: page.items.map(scheduleFromRow), nextCursor: page.nextCursor };
  });
  serve(app, auth, routes.getSchedule, ({ params, project }) => schedules.get(params.id, project));
  serve(app, auth, routes.updateSchedule, ({ params, project, body }) =>
    schedules.update(params.id, project, body),
  );
  serve(app, auth, routes.enableSchedule, ({ params, project }) =>
    schedules.update(params.id, project, { enabled: true }),
  );
  serve(app, auth, routes.disableSchedule, ({ params, project }) =>
    schedules.update(params.id, project, { enabled: false }),
  );
  serve(app, auth, routes.deleteSchedule, ({ params, project }) => schedules.delete(params.id, project));
}
