import type { Readable } from 'node:stream';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { timingSafeEqual } from 'node:crypto';
import type { Server as TlsServer } from 'node:tls';
import websocket from '@fastify/websocket';
import { agentRoutes, HearthError, type AgentCredentials } from '@hearth/contract';
import type { Supervisor } from './vm/index.ts';
import { installErrorHandling, serve } from './http.ts';
import { execRoutes } from './routes/exec.ts';
import { volumeRoutes } from './volumes.ts';
import { fileRoutes } from './routes/files.ts';
import { watchRoutes } from './routes/watch.ts';
import { wsRoutes } from './routes/ws.ts';
import { portRoutes } from './routes/ports.ts';
import { personalizeRoutes } from './routes/personalize.ts';
import { appLogRoutes } from './app-logs/routes.ts';
import { migrateRoutes } from './routes/migrate.ts';
import { migrateSnapshotRoutes } from './routes/migrate-snapshot.ts';
import { snapshotTransferRoutes } from './routes/snapshot-transfer.ts';
import { agentMetrics, scrapeAllowed, type AgentScrapeAccess, VmSampler } from './metrics.ts';

export interface AgentAppDeps {
  /**
   * Serve HTTPS (never plain HTTP) with this key and certificate; `{}` before the manager issued
   * one (handshakes fail until `setSecureContext`); null: plain HTTP.
   */
  https?: { key?: string; cert?: string } | null;
  /**
   * The certificate served is the manager's issue, replaced by the one a rotation brings (new
   * connections get it at once; connections open, and the VMs, are untouched); default: whenever
   * HTTPS is served. False for an operator-supplied certificate: a rotation bringing one is refused.
   */
  issuedTls?: boolean;
  supervisor: Supervisor;
  callbackToken: string;
  /** Persists a new credential pair and switches the manager client to it (rotation). */
  rotate?: (c: AgentCredentials) => Promise<void>;
  log: Logger;
  /** Largest file upload accepted into a guest. */
  maxUploadBytes?: number;
  /** Requests wait for this (the host set up after registering); default answer at once. */
  ready?: Promise<void>;
  /** How long a download waits for the guest to describe the file (default 30 s). */
  readTimeoutMs?: number;
  /** Samples the running VMs' guests (GET /metrics, the heartbeat's history samples); default none taken. */
  sampler?: VmSampler;
  /** Who may scrape GET /metrics besides the manager; default nobody else. */
  scrape?: AgentScrapeAccess;
}

export const DEFAULT_MAX_UPLOAD_BYTES = 1024 * 1024 * 1024;

function tokenMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header?.replace(/^Bearer /, '') ?? '');
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

function noSchemas(): never {
  throw new Error(
    'The agent validates requests with the contract (zod); fastify route schemas are not compiled.',
  );
}

/** The agent's own API, called only by the manager (bearer: the callback token it registered). */
export function buildAgentApp(deps: AgentAppDeps): FastifyInstance {
  const app = Fastify({
    ...(deps.https ? { https: deps.https } : {}),
    loggerInstance: deps.log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    // Requests are checked against the contract's zod schemas (http.ts), never a fastify schema:
    // with these, fastify never loads ajv and fast-json-stringify (~1 MB of code an idle agent
    // would keep in memory). A route given a fastify schema fails at start-up, loudly.
    schemaController: { compilersFactory: { buildValidator: noSchemas, buildSerializer: noSchemas } },
  });
  const sup = deps.supervisor;
  // The callback tokens accepted: the current one, and after a rotation the previous one too,
  // until the manager uses the new one (its answer to the rotation may have been lost).
  let accepted = [deps.callbackToken];
  app.addHook('onRequest', async (req, reply) => {
    if (req.url === '/healthz' || scrapeAllowed(req, deps.scrape ?? {})) return;
    const match = accepted.findIndex((t) => tokenMatches(req.headers.authorization, t));
    if (match === 0 && accepted.length > 1) accepted = [accepted[0]!];
    if (match < 0) {
      const e = new HearthError(
        'UNAUTHENTICATED',
        "Authenticating failed: the bearer token is not this agent's.",
      );
      return reply.code(e.status).type('application/json').send(e.toEnvelope(req.id));
    }
    await deps.ready;
  });
  // Errors leave in the catalogue's envelope so the manager passes them on as they are.
  installErrorHandling(app);
  // Uploads stream through untouched; the route counts bytes against the limit.
  app.addContentTypeParser(['application/octet-stream', 'application/x-tar'], (_req, payload, done) =>
    done(null, payload),
  );
  void app.register(websocket, { options: { maxPayload: 1024 * 1024 } });
  const r = agentRoutes;

  app.get('/healthz', async () => ({ ok: true }));
  agentMetrics(app, sup, deps.sampler ?? new VmSampler(sup, deps.log));
  serve(app, r.listVms, async () => ({ vms: sup.list() }));
  serve(app, r.vmStatus, async ({ params }) => sup.status(params.id));
  serve(app, r.startVm, async ({ body }) => sup.start(body));
  serve(app, r.stopVm, async ({ params, body }) => sup.stop(params.id, body));
  serve(app, r.pauseVm, async ({ params }) => sup.pause(params.id));
  serve(app, r.resumeVm, async ({ params }) => sup.resume(params.id));
  serve(app, r.deleteVm, async ({ params }) => {
    await sup.delete(params.id);
    return { ok: true };
  });
  serve(app, r.vmLogs, async ({ params, query, reply }) => {
    reply.type('text/plain; charset=utf-8');
    return sup.consoleLog(params.id, query.tail);
  });
  serve(app, r.snapshotVm, async ({ params, query }) =>
    sup.snapshot(
      params.id,
      params.snapshotId,
      query.kind,
      query.volumes?.split(',').filter(Boolean),
      query.type,
    ),
  );
  // Managers from before network policies: ports only, the rest kept.
  serve(app, r.setPorts, async ({ params, body }) =>
    sup.setNetPolicy(params.id, { ...sup.netPolicy(params.id), ports: body.ports }),
  );
  serve(app, r.setNetPolicy, async ({ params, body }) => sup.setNetPolicy(params.id, body));
  serve(app, r.setDnsNames, async ({ params, body }) => sup.setDnsNames(params.id, body));
  serve(app, r.ensureNetwork, async ({ body }) => {
    await sup.refreshNetwork(body.network);
    return { ok: true };
  });
  serve(app, r.teardownNetwork, async ({ body }) => {
    await sup.teardownNetwork(body.network);
    return { ok: true };
  });
  serve(app, r.restoreVm, async ({ body }) => sup.restore(body.spec, body.snapshotId, body.start));
  serve(app, r.deleteSnapshot, async ({ params }) => {
    await sup.deleteSnapshot(params.snapshotId);
    return { ok: true };
  });
  serve(app, r.checksums, async ({ body }) => sup.checksums(body));
  serve(app, r.exportInfo, async ({ params, query }) => sup.exportInfo(params.id, query));
  serve(app, r.exportFile, async ({ params, query, reply }) => {
    const out = await sup.exportStream(params.id, query);
    reply.type('application/octet-stream').header('content-length', String(query.encodedBytes));
    return out;
  });
  serve(app, r.importDisk, async ({ params, query, req }) =>
    sup.importDisk(params.id, req.body as Readable, {
      sizeBytes: query.sizeBytes,
      hasAgent: query.hasAgent === 'true',
      sha256: query.sha256,
    }),
  );
  serve(app, r.prepareImportSnapshot, async ({ params, body }) => sup.prepareImportSnapshot(params.id, body));
  serve(app, r.importMemory, async ({ params, query, req }) =>
    sup.importMemory(params.id, req.body as Readable, query),
  );
  serve(app, r.rotateCredentials, async ({ body }) => {
    if (body.tls && !(deps.issuedTls ?? Boolean(deps.https))) {
      throw new Error(
        "Rotating credentials failed: this agent serves a certificate of the operator's (or plain HTTP), not one the manager issues; nothing was changed.",
      );
    }
    // Persisted first (tokens and key), then served.
    await deps.rotate?.(body);
    if (body.tls) {
      (app.server as unknown as TlsServer).setSecureContext({ key: body.tls.key, cert: body.tls.cert });
    }
    accepted = [body.callbackToken, accepted[0]!];
    return { ok: true };
  });
  migrateRoutes(app, sup);
  migrateSnapshotRoutes(app, sup);
  snapshotTransferRoutes(app, sup);
  volumeRoutes(app, sup.dataDir);
  execRoutes(app, sup);
  fileRoutes(app, sup, deps.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES, deps.readTimeoutMs);
  watchRoutes(app, sup);
  personalizeRoutes(app, sup);
  appLogRoutes(app, sup);
  let ws: { dispose(): void } | null = null;
  void app.register(async (inst) => {
    ws = wsRoutes(inst, sup);
    portRoutes(inst, sup);
  });
  app.addHook('onClose', async () => ws?.dispose());
  return app;
}
