import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { openDb, type Db } from './db/index.ts';
import { makeStores, type Stores } from './store/index.ts';
import { Authority } from './auth/authority.ts';
import { sessionPolicy, sessionReader } from './auth/sessions.ts';
import { ticketReader } from './auth/tickets.ts';
import { LOG_REDACT } from '@hearth/contract/log-redaction';
import { signInLimits } from './auth/rate-limit.ts';
import { buildApp } from './app.ts';
import { registerBuiltinImages } from './builtin-images.ts';
import { SnapshotService } from './services/snapshot-service.ts';
import { VolumeService } from './services/volume-service.ts';
import { TemplateService } from './services/template-service.ts';
import { PoolService } from './services/pools/pool-service.ts';
import { AgentClient } from './services/agent-client.ts';
import { AgentCa } from './tls/agent-ca.ts';
import { HostLiveness } from './services/host-liveness.ts';
import { VmBus } from './services/bus.ts';
import { ChangeFeed } from './services/change-feed.ts';
import { NetworkService } from './services/networks/network-service.ts';
import { VmService } from './services/vms/vm-service.ts';
import { guestAppControl } from './services/containers/guest-app-control.ts';
import { ContainerService } from './services/containers/container-service.ts';
import { ContainerApps } from './services/containers/guest-app.ts';
import { SecretService } from './services/containers/secret-service.ts';
import { FunctionService } from './services/functions/function-service.ts';
import { loadSealer } from './crypto/sealed.ts';
import { ContentStore } from './images/content-store.ts';
import { ImageService } from './images/image-service.ts';
import { Oidc } from './auth/oidc.ts';
import { checkOidcConfig } from './auth/oidc-config.ts';
import { Quotas } from './services/quotas.ts';
import { DEFAULT_DISK_POLICY, DEFAULT_MEMORY_POLICY } from './services/scheduler.ts';
import { DEFAULT_PLACEMENT_POLICY } from './services/placement-policy.ts';
import { DEFAULT_AUDIT_RETENTION, sweepAuditHourly } from './auth/audit.ts';
import { RegistryCredentials } from './images/registry-auth.ts';
import { injectBackend } from './docker/backend.ts';
import { startDockerApi } from './docker/server.ts';
import { dockerConfig } from './docker/config.ts';
import { startWebhooks } from './services/webhooks/index.ts';
import { startSchedules, type ScheduleRunner } from './services/schedules/index.ts';
import {
  durationSetting,
  ensureAdminToken,
  ensureFirstAdmin,
  ensureSecret,
  idempotencySettings,
  importAllowList,
  type FirstAdmin,
} from './manager-setup.ts';
import { MetricsHistory } from './services/metrics/history.ts';
import { LeaderLease, replicaId, startReplication } from './services/replicas/index.ts';
import type { ManagerConfig } from './manager-config.ts';
import { startHousekeeping } from './services/housekeeping.ts';

export interface RunningManager {
  url: string;
  /** Where the Docker Engine API listens (`unix://…`, `tcp://…`). */
  docker: string[];
  app: FastifyInstance;
  db: Db;
  stores: Stores;
  vmService: VmService;
  containers: ContainerService;
  /** Serverless functions (services/functions). */
  functions: FunctionService;
  /** Snapshot schedules' background runner (`runDue()` runs a pass now). */
  schedules: ScheduleRunner;
  history: MetricsHistory;
  /** The bootstrap admin token; '' once it has been revoked (then never issued again). */
  adminToken: string;
  joinToken: string;
  /** The first start created user `admin`: its name, and the password when it was generated. */
  firstAdmin: FirstAdmin | null;
  /** Authentication of every route (tests add credential readers). */
  auth: Authority;
  /** Ready (null) or not, with why; see `notReadyUntilSet`. */
  setReady(notReady: string | null): void;
  /** Stops taking requests, lets VM operations in flight finish (bounded), then closes. Idempotent. */
  dispose(): Promise<void>;
}

/** How often expired sessions, tickets and Idempotency-Keys are deleted (each is ignored as soon as it expires). */

export async function startManager(cfg: ManagerConfig): Promise<RunningManager> {
  // Read first: a bad value stops the start before anything is running.
  const unreachableMs = hostUnreachableMs(cfg);
  // Whoever made the logger, credentials in headers never reach a line of it.
  const log = cfg.log.child({}, { redact: LOG_REDACT });
  const sessions = sessionPolicy(cfg);
  const retentionMs = durationSetting(
    'audit retention',
    cfg.auditRetention ?? process.env.HEARTH_AUDIT_RETENTION ?? DEFAULT_AUDIT_RETENTION,
  );
  const idempotency = idempotencySettings(cfg);
  await mkdir(cfg.dataDir, { recursive: true, mode: 0o700 });
  const db = await openDb({ url: cfg.databaseUrl, pgliteDir: join(cfg.dataDir, 'db') });
  const stores = makeStores(db, { idempotency });
  const adminToken = await ensureAdminToken(stores, cfg.dataDir, log, cfg.adminToken);
  // The data directory's join token is the local bootstrap: unlimited uses, no expiry, readable
  // only by the manager's user (the local agent of `hearth up` joins with it). Like every join
  // token it registers only new host names: a known host re-registers with its own agent
  // credential. Other hosts should get per-host tokens (POST /v1/join-tokens); this one can be
  // revoked, and stays revoked across restarts.
  const joinToken = await ensureSecret(stores, cfg.dataDir, 'join', cfg.joinToken);
  const firstAdmin = await ensureFirstAdmin(
    stores,
    cfg.dataDir,
    cfg.adminPassword ?? process.env.HEARTH_ADMIN_PASSWORD,
  );
  await registerBuiltinImages(cfg.dataDir, stores.images, (msg) => log.warn(msg));

  // Registry passwords and project secrets are sealed with a key that never enters the database
  // (HEARTH_SEAL_KEY or <dataDir>/seal.key): one sealer for both.
  const sealer = await loadSealer(cfg.dataDir);
  const registries = new RegistryCredentials(stores, sealer);
  const files = new ContentStore(join(cfg.dataDir, 'images'));
  await files.init();
  const images = new ImageService(stores, files, {
    allowHostPathImport: cfg.allowHostPathImport ?? false,
    insecureRegistries: cfg.insecureRegistries ?? [],
    importAllow: importAllowList(cfg.importAllow),
    maxUploadBytes: cfg.maxImageBytes ?? 64 * 2 ** 30,
    ...(cfg.importIdleMs ? { downloadIdleMs: cfg.importIdleMs } : {}),
    credentials: registries,
    log: log.child({ component: 'images' }),
  });

  const bus = new VmBus();
  const env = process.env;
  let url = '';
  // Background work runs on one replica, chosen through the database (PGlite: this process).
  const leader = new LeaderLease(db, {
    id: await replicaId(cfg.dataDir),
    leaseMs: cfg.leaderLeaseMs ?? (Number(env.HEARTH_LEADER_LEASE_MS) || undefined),
    url: () => url,
    log: log.child({ component: 'replicas' }),
  });
  // Hosts are trusted again only once their agents speak to this process (see HostLiveness), or,
  // while other replicas run, once the database records a recent heartbeat (to any of them).
  // A retry elsewhere (or after a restart) takes over a key whose claiming process is gone.
  const proc = `${leader.id}#${randomBytes(6).toString('hex')}`;
  stores.idempotency.setOwner({ replica: leader.id, process: proc, aliveMs: 2 * leader.leaseMs });
  const others = await leader.othersAlive();
  if (!others.length) await stores.hosts.markAllOffline();
  else log.info({ replicas: others }, 'joining running manager replicas');
  const agentCa = await AgentCa.open(cfg.dataDir, {
    ...(env.HEARTH_AGENT_CA_CERT ? { certFile: env.HEARTH_AGENT_CA_CERT } : {}),
    ...(env.HEARTH_AGENT_CA_KEY ? { keyFile: env.HEARTH_AGENT_CA_KEY } : {}),
    ...(env.HEARTH_AGENT_TRUSTED_CA ? { trustFile: env.HEARTH_AGENT_TRUSTED_CA } : {}),
    ...cfg.agentCa,
  });
  const agents = new AgentClient(new HostLiveness(), cfg.hostWaitMs, agentCa.trust);
  const hooks = startWebhooks({
    db,
    sealer,
    bus,
    live: agents.live,
    audit: stores.audit,
    log,
    options: cfg.webhooks,
  });
  const quotas = new Quotas(db);
  const networks = new NetworkService({ stores, agents, log: log.child({ component: 'networks' }), quotas });
  await networks.ensureDefault(cfg.network ?? null);
  const disk = { ...DEFAULT_DISK_POLICY, ...cfg.diskPolicy };
  const vmService = new VmService({
    apps: new ContainerApps(stores, sealer),
    stores,
    agents,
    bus,
    log: log.child({ component: 'vms' }),
    networks,
    images,
    quotas,
    memory: { ...DEFAULT_MEMORY_POLICY, ...cfg.memoryPolicy },
    disk,
    placement: { ...DEFAULT_PLACEMENT_POLICY, ...cfg.placement },
    replica: leader.id,
  });
  const replication = await startReplication({
    db,
    stores,
    bus,
    live: agents.live,
    leader,
    vms: vmService,
    hostOfflineMs: cfg.hostOfflineMs ?? 20_000,
    everyMs: Math.max(1000, Math.min(cfg.heartbeatMs, 5000)),
    log: log.child({ component: 'replicas' }),
  });
  const volumes = new VolumeService({ stores, agents, quotas, disk });
  const snapshots = new SnapshotService({
    stores,
    agents,
    vms: vmService,
    log: log.child({ component: 'snapshots' }),
    quotas,
  });
  const schedules = startSchedules({ stores, snapshots, log, ...cfg.schedules });
  const pools = new PoolService({
    stores,
    vms: vmService,
    snapshots,
    bus,
    log: log.child({ component: 'pools' }),
    ...(cfg.poolIntervalMs ? { intervalMs: cfg.poolIntervalMs } : {}),
    ...(cfg.poolRefill === false ? { refill: false } : {}),
    active: () => leader.isLeader(),
  });
  const containers = new ContainerService({
    stores,
    vms: vmService,
    volumes,
    agents,
    bus,
    sealer,
    images,
    appControl: guestAppControl({ stores, agents, bus }),
    log: log.child({ component: 'containers' }),
    ...(cfg.containerSweepMs ? { sweepMs: cfg.containerSweepMs } : {}),
  });
  const functions = new FunctionService({
    db,
    stores,
    sealer,
    agents,
    vms: vmService,
    snapshots,
    npm: { registry: cfg.npmRegistry ?? process.env.HEARTH_NPM_REGISTRY },
    log: log.child({ component: 'functions' }),
  });
  const history = new MetricsHistory({ db, ...(cfg.now ? { now: cfg.now } : {}) });
  let notReady: string | null = cfg.notReadyUntilSet ?? null;
  const auth = new Authority(stores);
  // After bearer tokens: a ticket (WebSockets and the event stream only), then the session cookie.
  auth.addReader(ticketReader(stores));
  auth.addReader(sessionReader(stores, sessions));
  if (cfg.oidc) checkOidcConfig(cfg.oidc);
  const oidc = cfg.oidc
    ? new Oidc(cfg.oidc, { db, stores, log: log.child({ component: 'oidc' }), managerUrl: () => url })
    : null;
  const app = await buildApp({
    leader: () => leader.isLeader(),
    notReady: () => notReady,
    sessionPolicy: sessions,
    signInLimits: signInLimits(cfg.signInLimits),
    db,
    dataDir: cfg.dataDir,
    auth,
    oidc,
    sessionTtlMs: sessions.ttlMs,
    stores,
    vmService,
    snapshots,
    schedules: schedules.service,
    volumes,
    networks,
    templates: new TemplateService({ stores, vms: vmService, volumes }),
    pools,
    containers,
    functions,
    secrets: new SecretService(stores, sealer),
    agents,
    agentCa,
    images,
    registries,
    log,
    version: cfg.version,
    changes: new ChangeFeed(bus),
    sealer,
    webhooks: hooks.service,
    history,
    scrape: cfg.scrape ?? {
      token: env.HEARTH_METRICS_TOKEN || null,
      public: env.HEARTH_METRICS_PUBLIC === '1',
    },
    ...(cfg.uiDir ? { uiDir: cfg.uiDir } : {}),
    ...(cfg.maxUploadBytes ? { maxUploadBytes: cfg.maxUploadBytes } : {}),
    e2bDomain: cfg.e2bDomain || process.env.HEARTH_E2B_DOMAIN || null,
  });
  // A burst of clients (a thousand function calls at once) must wait in the kernel's accept queue,
  // not be dropped from it while the loop is busy: Node's default of 511 overflowed and the
  // dropped connections were reset seconds later. The kernel caps it at net.core.somaxconn.
  await app.listen({ host: cfg.host, port: cfg.port, backlog: 4096 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : cfg.port;
  url = `http://${cfg.host}:${port}`;
  const docker = await startDockerApi(dockerConfig(cfg.dataDir, cfg.docker), {
    backend: injectBackend(app),
    log,
    version: cfg.version,
  }).catch(async (e: unknown) => {
    await app.close();
    await db.close();
    throw e;
  });

  const tick = startHousekeeping({
    isLeader: () => leader.isLeader(),
    stores,
    agents,
    vmService,
    log,
    webhooks: hooks,
    hostOfflineMs: cfg.hostOfflineMs ?? 20_000,
    unreachableMs,
    everyMs: Math.max(1000, cfg.heartbeatMs),
  });
  pools.start();
  // Instances of functions live in the process that started them: every replica sweeps its own.
  functions.start(!others.length);
  // Container supervision and snapshot schedules run on the leader only, from when it leads.
  const lead = (leading: boolean) => {
    if (leading) {
      containers.start();
      schedules.runner.start();
      pools.kick();
    } else {
      containers.stopWatching();
      void schedules.runner.dispose();
    }
  };
  leader.on('change', lead);
  await leader.start();
  const auditSweep = sweepAuditHourly(
    { sweep: (before) => (leader.isLeader() ? stores.audit.sweep(before) : Promise.resolve(0)) },
    retentionMs,
    log.child({ component: 'audit' }),
  );
  log.info({ url, database: db.kind, dataDir: cfg.dataDir }, 'manager listening');

  let disposed = false;
  return {
    url,
    docker: docker.endpoints,
    app,
    db,
    stores,
    vmService,
    containers,
    functions,
    schedules: schedules.runner,
    history,
    adminToken,
    joinToken,
    firstAdmin,
    auth,
    setReady(why) {
      notReady = why;
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      tick.dispose();
      auditSweep.dispose();
      leader.off('change', lead);
      await leader.dispose();
      await replication.dispose();
      await schedules.runner.dispose();
      await pools.dispose();
      await docker.dispose();
      await containers.dispose();
      await functions.dispose();
      // No new requests; operations already accepted (a delete's agent call, say) finish first.
      const closing = app.close();
      const pending = vmService.inFlight();
      if (pending.length) log.info({ vms: pending }, 'letting VM operations in flight finish');
      if (!(await vmService.drain(cfg.drainMs ?? 30_000))) {
        log.warn({ vms: vmService.inFlight() }, 'VM operations still in flight at shutdown');
      }
      // Long polls, event streams and relays do not end by themselves.
      await Promise.race([closing, new Promise((r) => setTimeout(r, 1000).unref())]);
      app.server.closeAllConnections();
      await closing;
      agents.live.dispose();
      await agents.dispose();
      await hooks.service.dispose();
      await db.close();
    },
  };
}

/** The grace period of a silent host (ManagerConfig.hostUnreachableMs). */
function hostUnreachableMs(cfg: ManagerConfig): number {
  if (cfg.hostUnreachableMs !== undefined) return cfg.hostUnreachableMs;
  const s = process.env.HEARTH_HOST_UNREACHABLE_S?.trim();
  if (!s) return 60_000;
  if (!/^\d+$/.test(s)) {
    throw new Error(
      `HEARTH_HOST_UNREACHABLE_S is "${s}": it must be a whole number of seconds (how long a silent host is waited for before its VMs become unknown), e.g. 60.`,
    );
  }
  return Number(s) * 1000;
}
