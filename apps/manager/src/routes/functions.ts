import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HearthError, routes, type InvokeResult } from '@hearth/contract';
import { admit, serve } from '../http.ts';
import type { AppServices } from '../app.ts';
import type { FunctionService } from '../services/functions/function-service.ts';
import { eventOfRequest, sendHandlerResponse } from '../services/functions/http-trigger.ts';

/** What a project or function name in a trigger URL may hold (anything else names none). */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Functions of the request's project, and their HTTP trigger `/fn/{project}/{name}/…`. */
export function functionRoutes(app: FastifyInstance, deps: AppServices, svc: FunctionService): void {
  const t = deps.auth;
  serve(app, t, routes.createFunction, ({ body, project, actor }) => svc.create(body, project, actor));
  serve(app, t, routes.listFunctions, ({ project }) => svc.list(project));
  serve(app, t, routes.getFunction, ({ params, project }) => svc.get(params.name, project));
  serve(app, t, routes.deleteFunction, ({ params, project }) => svc.delete(params.name, project));
  serve(app, t, routes.deployFunction, ({ params, project, body, actor }) =>
    svc.deploy(params.name, project, body, actor),
  );
  serve(app, t, routes.listFunctionVersions, ({ params, project }) => svc.versions(params.name, project));
  serve(app, t, routes.getFunctionVersion, ({ params, project, query }) =>
    svc.version(params.name, project, params.version, query.wait),
  );
  serve(app, t, routes.getFunctionCode, ({ params, project }) =>
    svc.code(params.name, project, params.version),
  );
  serve(app, t, routes.rollbackFunction, ({ params, project, body }) =>
    svc.rollback(params.name, project, body),
  );
  serve(app, t, routes.invokeFunction, ({ params, project, body, query }) =>
    svc.invoke(params.name, project, body, query),
  );
  serve(app, t, routes.invokeFunctionAsync, ({ params, project, body, query }) =>
    svc.invokeAsync(params.name, project, body, query),
  );
  serve(app, t, routes.getInvocation, ({ params, project, query }) =>
    svc.invocation(params.name, project, params.requestId, query.wait),
  );
  serve(app, t, routes.functionMetrics, ({ params, project, query }) =>
    svc.metrics(params.name, project, query.range),
  );
  serve(app, t, routes.functionLogs, ({ params, project, query, reply }) =>
    svc.logs(params.name, project, query, reply),
  );

  // The trigger takes any body as bytes (the handler decides what it means), in its own scope.
  void app.register(async (inst) => {
    inst.removeAllContentTypeParsers();
    inst.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    const handler = async (req: FastifyRequest, reply: FastifyReply) => {
      const p = req.params as Record<string, string>;
      const project = p.project ?? '';
      const name = p.name ?? '';
      // Checked before any lookup: a NUL or other control byte is no name the database can take.
      if (!SAFE_NAME.test(project) || !SAFE_NAME.test(name)) {
        throw new HearthError('FUNCTION_NOT_FOUND', `No function "${name.slice(0, 63)}".`);
      }
      if (!(await svc.isPublic(name, project))) {
        const g = await admit(t, req, routes.functionTrigger);
        if (g.project !== project) throw new HearthError('FUNCTION_NOT_FOUND', `No function "${name}".`);
      }
      const prefix = `/fn/${project}/${name}`;
      const out: InvokeResult = await svc.invoke(name, project, eventOfRequest(req, prefix), {});
      return sendHandlerResponse(out, reply);
    };
    const methods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
    inst.route({ method: [...methods], url: '/fn/:project/:name', handler });
    inst.route({ method: [...methods], url: '/fn/:project/:name/*', handler });
  });
}
