import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Db } from './db/index.ts';
import type { Authority } from './auth/authority.ts';
import type { Stores } from './store/index.ts';
import type { VmService } from './services/vms/vm-service.ts';
import { frameworkOptions, installErrorHandling } from './http.ts';
import { vmRoutes } from './routes/vms.ts';
import { hostRoutes } from './routes/hosts.ts';
import { migrationRoutes } from './routes/migration.ts';
import { imageRoutes } from './routes/images.ts';
import { systemRoutes } from './routes/system.ts';
import { vmAccessRoutes } from './routes/vm-access.ts';
import type { ScheduleService } from './services/schedules/service.ts';
import { snapshotRoutes } from './routes/snapshots.ts';
import { scheduleRoutes } from './routes/schedules.ts';
import { backupRoutes } from './routes/backup.ts';
import { vmExportRoutes } from './routes/vm-export.ts';
import { volumeRoutes } from './routes/volumes.ts';
import { networkRoutes } from './routes/networks.ts';
import type { NetworkService } from './services/networks/network-service.ts';
import { templateRoutes } from './routes/templates.ts';
import { poolRoutes } from './routes/pools.ts';
import type { PoolService } from './services/pools/pool-service.ts';
import type { TemplateService } from './services/template-service.ts';
import type { VolumeService } from './services/volume-service.ts';
import type { SnapshotService } from './services/snapshot-service.ts';
import { vmWsRoutes } from './routes/vm-ws.ts';
import { vmProxyRoutes } from './routes/vm-proxy.ts';
import { proxyPassRoutes } from './routes/proxy-passes.ts';
import type { AgentCa } from './tls/agent-ca.ts';
import type { AgentClient } from './services/agent-client.ts';
import type { ImageService } from './images/image-service.ts';
import websocket from '@fastify/websocket';
import cookie from '@fastify/cookie';
import type { ChangeFeed } from './services/change-feed.ts';
import { eventRoutes } from './routes/events.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { DEFAULT_UI_DIR, uiRoutes } from './routes/ui.ts';
import { authRoutes } from './routes/auth.ts';
import type { SessionPolicy } from './auth/sessions.ts';
import type { SignInLimits } from './auth/rate-limit.ts';
import { redactUrl } from '@hearth/contract/log-redaction';
import { oidcRoutes } from './routes/oidc.ts';
import type { Oidc } from './auth/oidc.ts';
import { installAudit } from './auth/audit.ts';
import { auditRoutes } from './routes/audit.ts';
import { userRoutes } from './routes/users.ts';
import { projectRoutes } from './routes/projects.ts';
import { containerRoutes } from './routes/containers.ts';
import { secretRoutes } from './routes/secrets.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import type { WebhookService } from './services/webhooks/webhook-service.ts';
import type { ContainerService } from './services/containers/container-service.ts';
import type { SecretService } from './services/containers/secret-service.ts';
import { registryRoutes } from './routes/registries.ts';
import type { RegistryCredentials } from './images/registry-auth.ts';
import { e2bRoutes, e2bSandboxes } from './e2b/index.ts';
import { sealerFromKey, type Sealer } from './crypto/sealed.ts';
import { randomBytes } from 'node:crypto';
import type { FunctionService } from './services/functions/function-service.ts';
import { functionRoutes } from './routes/functions.ts';
import { managerMetrics } from './services/metrics/prometheus.ts';
import { metricsRoutes, type ScrapeAccess } from './routes/metrics.ts';
import type { MetricsHistory } from './services/metrics/history.ts';

export interface AppServices {
  db: Db;
  /** Whether this manager replica runs background work now (services/replicas/leader.ts). */
  leader?: () => boolean;
  /** The manager's data directory (backups read keys, CA and image files from it). */
  dataDir?: string;
  /** Authentication and authorization of every route. */
  auth: Authority;
  stores: Stores;
  vmService: VmService;
  snapshots: SnapshotService;
  schedules: ScheduleService;
  volumes: VolumeService;
  networks: NetworkService;
  templates: TemplateService;
  /** Warm pools and their refill loop. */
  pools: PoolService;
  agents: AgentClient;
  /** Containers: one microVM each (services/containers). */
  containers: ContainerService;
  /** Serverless functions (services/functions); absent: no /v1/functions routes (in-process tests). */
  functions?: FunctionService;
  /** Project secrets, sealed at rest. */
  secrets: SecretService;
  /** Issues agents their TLS certificates at registration; absent: none issued (in-process tests). */
  agentCa?: AgentCa | null;
  images: ImageService;
  /** Private registry credentials (sealed at rest), used by OCI imports. */
  registries: RegistryCredentials;
  log: Logger;
  /** Largest upload into a guest (PUT /v1/vms/{id}/files). */
  maxUploadBytes?: number;
  version: string;
  /** Numbered VM changes behind the live event stream. */
  changes: ChangeFeed;
  /** The built dashboard (apps/web/dist by default). */
  uiDir?: string;
  /** Why the platform cannot serve yet (GET /healthz answers 503), or null when it can. */
  notReady?: () => string | null;
  /** Session lifetime and idle timeout; default 7 d and 12 h. */
  sessionPolicy?: SessionPolicy;
  /** Failed sign-in limits; default 5 per user name and 20 per address in 15 minutes. */
  signInLimits?: SignInLimits;
  /** Single sign-on (OpenID Connect), when configured. */
  oidc?: Oidc | null;
  /** Lifetime of a browser session; default 7 days. */
  sessionTtlMs?: number;
  /** Seals values kept at rest (the E2B sandboxes' access tokens); absent: a key for this process only. */
  sealer?: Sealer;
  /**
   * The domain of the E2B sandboxes' host names (`<port>-<id>.<domain>`, docs/e2b.md); absent:
   * the Host each API caller used.
   */
  e2bDomain?: string | null;
  /** Webhooks (docs/webhooks.md); absent: their routes answer 404 (in-process tests). */
  webhooks?: WebhookService;
  /** The charts' kept samples (heartbeats feed it). */
  history: MetricsHistory;
  /** Who may scrape GET /metrics besides a platform admin; default nobody else. */
  scrape?: ScrapeAccess;
}

/** The manager's HTTP app, built from its dependencies so tests can drive it in process. */
export async function buildApp(deps: AppServices): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    genReqId: () => `req_${Math.random().toString(36).slice(2, 12)}`,
    ...frameworkOptions,
  });
  installErrorHandling(app);
  const sandboxes = e2bSandboxes(app, { ...deps, sealer: deps.sealer ?? sealerFromKey(randomBytes(32)) });
  await app.register(cookie);
  installAudit(app, { store: deps.stores.audit, auth: deps.auth });
  // Before the routes: its onResponse hook times every one of them.
  const registry = managerMetrics(app, deps.db);
  app.addHook('onResponse', async (req, reply) => {
    if (reply.statusCode >= 400 || (req.url.startsWith('/v1/vms') && req.method !== 'GET')) {
      req.log.info(
        {
          method: req.method,
          url: redactUrl(req.url),
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime),
        },
        'request',
      );
    }
  });
  await systemRoutes(app, deps);
  authRoutes(app, deps);
  vmRoutes(app, deps);
  hostRoutes(app, deps);
  migrationRoutes(app, deps);
  imageRoutes(app, deps);
  vmAccessRoutes(app, deps);
  proxyPassRoutes(app, deps);
  snapshotRoutes(app, deps);
  scheduleRoutes(app, deps);
  backupRoutes(app, deps);
  vmExportRoutes(app, deps);
  volumeRoutes(app, deps);
  networkRoutes(app, deps);
  templateRoutes(app, deps);
  poolRoutes(app, deps);
  eventRoutes(app, deps);
  oidcRoutes(app, deps);
  tokenRoutes(app, deps);
  auditRoutes(app, deps);
  userRoutes(app, deps);
  projectRoutes(app, deps);
  containerRoutes(app, deps);
  secretRoutes(app, deps);
  registryRoutes(app, deps);
  webhookRoutes(app, deps);
  if (deps.functions) functionRoutes(app, deps, deps.functions);
  metricsRoutes(app, deps, registry, deps.scrape ?? {});
  await uiRoutes(app, deps.uiDir ?? DEFAULT_UI_DIR);
  await app.register(websocket, { options: { maxPayload: 1024 * 1024 } });
  await app.register(async (inst) => vmWsRoutes(inst, deps));
  await app.register(async (inst) => vmProxyRoutes(inst, deps));
  // The E2B-compatible API (docs/e2b.md), under /e2b.
  await e2bRoutes(app, { ...deps, sandboxes });
  return app;
}
