import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { timingSafeEqual } from 'node:crypto';
import websocket from '@fastify/websocket';
import {
  AgentNetPolicy,
  AgentTeardownNetworkBody,
  AgentRestoreBody,
  AgentStopBody,
  AgentVmSpec,
  catalogueCodeForGuest,
  errorCatalogue,
  HearthError,
  LogsQuery,
} from '@hearth/contract';
import type { Supervisor } from './supervisor.ts';
import { GuestError } from './guest/errors.ts';
import { execRoutes } from './routes/exec.ts';
import { volumeRoutes } from './volumes.ts';
import { fileRoutes } from './routes/files.ts';
import { wsRoutes } from './routes/ws.ts';

export interface AgentAppDeps {
  supervisor: Supervisor;
  callbackToken: string;
  log: Logger;
  /** Largest file upload accepted into a guest. */
  maxUploadBytes?: number;
  /** Requests wait for this (the host set up after registering); default answer at once. */
  ready?: Promise<void>;
  /** How long a download waits for the guest to describe the file (default 30 s). */
  readTimeoutMs?: number;
}

export const DEFAULT_MAX_UPLOAD_BYTES = 1024 * 1024 * 1024;

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
    await deps.ready;
  });
  // Errors carry a catalogue code so the manager can pass them on as they are.
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    // A streaming route may have set its content type before it failed.
    reply.type('application/json');
    if (err instanceof GuestError) {
      const code = catalogueCodeForGuest(err.code);
      return reply.code(errorCatalogue[code].status).send({ error: err.message, code });
    }
    if (err instanceof HearthError)
      return reply.code(err.status).send({ error: err.message, code: err.code });
    if (err.name === 'ZodError')
      return reply.code(400).send({ error: err.message, code: 'VALIDATION_FAILED' });
    const status = err.statusCode && err.statusCode < 600 ? err.statusCode : 500;
    reply.code(status).send({ error: err.message });
  });
  // Uploads stream through untouched; the route counts bytes against the limit.
  app.addContentTypeParser(['application/octet-stream', 'application/x-tar'], (_req, payload, done) =>
    done(null, payload),
  );
  void app.register(websocket, { options: { maxPayload: 1024 * 1024 } });
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
  app.post('/agent/v1/vms/:id/snapshots/:snapshotId', async (req) =>
    sup.snapshot(id(req), (req.params as { snapshotId: string }).snapshotId),
  );
  // Managers from before network policies: ports only, the rest kept.
  app.put('/agent/v1/vms/:id/ports', async (req) => {
    const { ports } = AgentNetPolicy.pick({ ports: true }).parse(req.body);
    return sup.setNetPolicy(id(req), { ...sup.netPolicy(id(req)), ports });
  });
  app.put('/agent/v1/vms/:id/net-policy', async (req) =>
    sup.setNetPolicy(id(req), AgentNetPolicy.parse(req.body)),
  );
  app.post('/agent/v1/networks/ensure', async (req) => {
    await sup.refreshNetwork(AgentTeardownNetworkBody.parse(req.body).network);
    return { ok: true };
  });
  app.post('/agent/v1/networks/teardown', async (req) => {
    await sup.teardownNetwork(AgentTeardownNetworkBody.parse(req.body).network);
    return { ok: true };
  });
  app.post('/agent/v1/vms/:id/restore', async (req) => {
    const body = AgentRestoreBody.parse(req.body);
    return sup.restore(body.spec, body.snapshotId);
  });
  app.delete('/agent/v1/snapshots/:snapshotId', async (req) => {
    await sup.deleteSnapshot((req.params as { snapshotId: string }).snapshotId);
    return { ok: true };
  });
  volumeRoutes(app, sup.dataDir);
  execRoutes(app, sup);
  fileRoutes(app, sup, deps.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES, deps.readTimeoutMs);
  let ws: { dispose(): void } | null = null;
  void app.register(async (inst) => {
    ws = wsRoutes(inst, sup);
  });
  app.addHook('onClose', async () => ws?.dispose());
  return app;
}
