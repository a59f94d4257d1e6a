import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { timingSafeEqual } from 'node:crypto';
import { AgentStopBody, AgentVmSpec, LogsQuery } from '@hearth/contract';
import type { Supervisor } from './supervisor.ts';

export interface AgentAppDeps {
  supervisor: Supervisor;
  callbackToken: string;
  log: Logger;
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header?.replace(/^Bearer /, '') ?? '');
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

/** The agent's own API, called only by the manager (bearer: the callback token it registered). */
export function buildAgentApp(deps: AgentAppDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
  });
  const sup = deps.supervisor;
  app.addHook('onRequest', async (req, reply) => {
    if (req.url === '/healthz') return;
    if (!tokenMatches(req.headers.authorization, deps.callbackToken)) {
      return reply.code(401).send({ error: 'unauthenticated' });
    }
  });
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    const status = err.statusCode && err.statusCode < 600 ? err.statusCode : 500;
    reply.code(status).send({ error: err.message });
  });
  const id = (req: { params: unknown }) => (req.params as { id: string }).id;

  app.get('/healthz', async () => ({ ok: true }));
  app.get('/agent/v1/vms', async () => ({ vms: sup.list() }));
  app.get('/agent/v1/vms/:id', async (req) => sup.status(id(req)));
  app.post('/agent/v1/vms/:id/start', async (req) => {
    const spec = AgentVmSpec.parse(req.body);
    return sup.start(spec);
  });
  app.post('/agent/v1/vms/:id/stop', async (req) => sup.stop(id(req), AgentStopBody.parse(req.body ?? {})));
  app.post('/agent/v1/vms/:id/pause', async (req) => sup.pause(id(req)));
  app.post('/agent/v1/vms/:id/resume', async (req) => sup.resume(id(req)));
  app.delete('/agent/v1/vms/:id', async (req) => {
    await sup.delete(id(req));
    return { ok: true };
  });
  app.get('/agent/v1/vms/:id/logs', async (req, reply) => {
    const q = LogsQuery.parse(req.query);
    reply.type('text/plain; charset=utf-8');
    return sup.consoleLog(id(req), q.tail);
  });
  return app;
}
