import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Db } from './db/index.ts';
import type { Stores } from './store/index.ts';
import type { VmService } from './services/vm-service.ts';
import { installErrorHandling } from './http.ts';
import { vmRoutes } from './routes/vms.ts';
import { hostRoutes } from './routes/hosts.ts';
import { imageRoutes } from './routes/images.ts';
import { systemRoutes } from './routes/system.ts';

export interface AppServices {
  db: Db;
  stores: Stores;
  vmService: VmService;
  log: Logger;
  version: string;
}

/** The manager's HTTP app, built from its dependencies so tests can drive it in process. */
export async function buildApp(deps: AppServices): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    genReqId: () => `req_${Math.random().toString(36).slice(2, 12)}`,
    routerOptions: { ignoreTrailingSlash: true },
  });
  installErrorHandling(app);
  app.addHook('onResponse', async (req, reply) => {
    if (reply.statusCode >= 400 || (req.url.startsWith('/v1/vms') && req.method !== 'GET')) {
      req.log.info(
        { method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
        'request',
      );
    }
  });
  await systemRoutes(app, deps);
  vmRoutes(app, deps);
  hostRoutes(app, deps);
  imageRoutes(app, deps);
  return app;
}
