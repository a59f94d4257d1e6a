import type { FastifyInstance } from 'fastify';
import { routes } from '@hearth/contract';
import { serve } from '../http.ts';
import type { AppServices } from '../app.ts';
import { pipeResponse, readJson } from './vm-access.ts';
import { streamAppLogs } from '../services/app-logs.ts';

/** Containers of the request's project; logs come from the app log pipeline of their VM's host. */
export function containerRoutes(app: FastifyInstance, deps: AppServices): void {
  const { containers: svc, auth: t, agents } = deps;
  serve(app, t, routes.createContainer, ({ body, project, actor }) => svc.create(body, project, actor));
  serve(app, t, routes.listContainers, ({ query, project }) => svc.list({ ...query, project }));
  serve(app, t, routes.getContainer, ({ params, project }) => svc.get(params.id, project));
  serve(app, t, routes.deleteContainer, ({ params, project, query, actor }) =>
    svc.delete(params.id, project, query, actor),
  );
  serve(app, t, routes.startContainer, ({ params, project, actor }) =>
    svc.verb(params.id, project, 'start', actor),
  );
  serve(app, t, routes.stopContainer, ({ params, project, actor, body }) =>
    svc.verb(params.id, project, 'stop', actor, body ?? {}),
  );
  serve(app, t, routes.restartContainer, ({ params, project, actor, body }) =>
    svc.verb(params.id, project, 'restart', actor, body ?? {}),
  );
  serve(app, t, routes.pauseContainer, ({ params, project, actor }) =>
    svc.verb(params.id, project, 'pause', actor),
  );
  serve(app, t, routes.resumeContainer, ({ params, project, actor }) =>
    svc.verb(params.id, project, 'resume', actor),
  );
  serve(app, t, routes.killContainer, ({ params, project, actor, body }) =>
    svc.verb(params.id, project, 'kill', actor, { signal: body?.signal ?? 'SIGKILL' }),
  );
  serve(app, t, routes.waitContainer, ({ params, project, query }) =>
    svc.wait(params.id, project, query.condition, query.timeout),
  );
  serve(app, t, routes.containerExec, async ({ params, project, body, reply }) => {
    const target = await svc.execTarget(params.id, project, body);
    const res = await agents.raw(
      target.host,
      'exec',
      { params: { id: target.vmId } },
      {
        body: JSON.stringify(target.body),
        headers: { 'content-type': 'application/json' },
        stream: body.stream === true,
      },
    );
    if (!body.stream) return readJson(res, target.host);
    reply.type('application/x-ndjson');
    return pipeResponse(res, reply, []);
  });
  serve(app, t, routes.containerLogs, async ({ params, project, query, reply }) =>
    streamAppLogs({ stores: deps.stores, agents }, await svc.logsVm(params.id, project), query, reply),
  );
  serve(app, t, routes.containerTop, ({ params, project }) => svc.top(params.id, project));
  serve(app, t, routes.containerStats, ({ params, project }) => svc.stats(params.id, project));
  serve(app, t, routes.containerEvents, ({ params, project, query }) =>
    svc.events(params.id, project, query),
  );
}
