import type { Logger } from 'pino';
import type { AgentCaFiles } from './tls/agent-ca.ts';
import type { OidcConfig } from './auth/oidc-config.ts';
import type { DiskPolicy, MemoryPolicy } from './services/scheduler.ts';
import type { PlacementPolicy } from './services/placement-policy.ts';
import type { DockerApiConfig } from './docker/server.ts';
import type { WebhookOptions } from './services/webhooks/webhook-service.ts';

/** What `startManager` is given: the CLI's `hearth manager`/`up` and the tests build one. */
export interface ManagerConfig {
  dataDir: string;
  host: string;
  /** 0 picks a free port */
  port: number;
  databaseUrl: string | null;
  network: { bridge: string; cidr: string; dns: string } | null;
  /**
   * Replicated managers (PostgreSQL): the leader lease's length; a dead leader is replaced within
   * about this long. Default HEARTH_LEADER_LEASE_MS, else 10 s (services/replicas/leader.ts).
   */
  leaderLeaseMs?: number;
  /** How often housekeeping runs (offline hosts, VM timeouts). */
  heartbeatMs: number;
  /** A host that has not sent a heartbeat for this long is offline (agents beat every 5 s by default). */
  hostOfflineMs?: number;
  /**
   * The grace period after which a silent host is `unreachable` and its VMs `unknown`; default
   * HEARTH_HOST_UNREACHABLE_S seconds, else 60 s. Counted from the manager's start at the earliest
   * (heartbeats sent while no manager ran say nothing about the host).
   */
  hostUnreachableMs?: number;
  /** How long a call waits for a host whose agent has not spoken to this process yet; default 15 s. */
  hostWaitMs?: number;
  /** Fixed secrets (tests); otherwise generated on first start and written 0600 to the data dir. */
  adminToken?: string;
  joinToken?: string;
  log: Logger;
  version: string;
  /** Placement's memory admission: reserve kept free on each host, VMM overhead per VM (MiB). */
  memoryPolicy?: Partial<MemoryPolicy>;
  /** Placement's disk admission: host disk kept free of VM disks and volumes (`diskPolicyFromEnv`). */
  diskPolicy?: Partial<DiskPolicy>;
  /** Placement strategy (spread, pack) and the hosts' default CPU and memory overcommit ratios. */
  placement?: Partial<PlacementPolicy>;
  /** Largest upload into a guest; default 1 GiB. */
  maxUploadBytes?: number;
  /**
   * The domain of the E2B sandboxes' host names, `<port>-<id>.<domain>` (docs/e2b.md; a wildcard
   * DNS name for the manager); default HEARTH_E2B_DOMAIN, else the Host each API caller used.
   */
  e2bDomain?: string;
  /** The built dashboard; default apps/web/dist. */
  uiDir?: string;
  /** POST /v1/images/import may read files on the manager host (operator opt-in). */
  allowHostPathImport?: boolean;
  /** Registries (host:port) reached over plain HTTP besides loopback ones. */
  insecureRegistries?: string[];
  /**
   * Special addresses imports may reach anyway (CIDRs, addresses, host:port): a local registry or
   * file server. Default HEARTH_IMPORT_ALLOW (comma-separated), else none.
   */
  importAllow?: string[];
  /** Largest image upload or URL download; default 64 GiB. */
  maxImageBytes?: number;
  /**
   * GET /healthz answers 503 with this reason until `setReady()` (single-machine mode: until the
   * local agent registered); default ready at once.
   */
  notReadyUntilSet?: string;
  /** How long shutdown lets VM operations in flight finish; default 30 s. */
  drainMs?: number;
  /** How often the warm-pool refill loop looks at every pool without a change (default 5 s). */
  poolIntervalMs?: number;
  /** Snapshot schedules: the clock they run by (tests move it) and how often due ones are run. */
  schedules?: { clock?: () => Date; intervalMs?: number };
  /** How often containers are looked at besides VM changes (events, restart policies); default 5 s. */
  containerSweepMs?: number;
  /** false: warm pools never boot VMs (their records and hand-outs of VMs already pooled work). */
  poolRefill?: boolean;
  /** A URL import fails after this long without progress (connect, headers, body); default 30 s. */
  importIdleMs?: number;
  /** Browser sessions end this long after sign-in; default HEARTH_SESSION_TTL, else 7 d. */
  sessionTtlMs?: number;
  /** Browser sessions unused this long end; default HEARTH_SESSION_IDLE, else 12 h. */
  sessionIdleMs?: number;
  /**
   * The first administrator's password, used only when the first start creates user `admin`;
   * default HEARTH_ADMIN_PASSWORD, else a random one written 0600 to `admin.password`.
   */
  adminPassword?: string;
  /** Failed sign-ins allowed per user name and per address in a window; default 5 and 20 in 15 min. */
  signInLimits?: { perUser?: number; perSource?: number; windowMs?: number };
  /** Single sign-on with an OpenID Connect provider (`oidcConfigFromEnv`); off when absent. */
  oidc?: OidcConfig | null;
  /** How long audit records are kept (`90d`, `12h`); default HEARTH_AUDIT_RETENTION, else 90 days. */
  auditRetention?: string;
  /** How long Idempotency-Keys are kept (`24h`); default HEARTH_IDEMPOTENCY_RETENTION, else 24 h. */
  idempotencyRetention?: string;
  /**
   * A request holding an Idempotency-Key this long without finishing is taken for dead (the
   * manager stopped mid-request) and a retry runs again; default HEARTH_IDEMPOTENCY_PENDING_TIMEOUT, else 5 min.
   */
  idempotencyPendingTimeout?: string;
  /**
   * Manager ↔ agent TLS. Default: a CA made on first start in `<data dir>/ca`. The operator may
   * give one to issue with (HEARTH_AGENT_CA_CERT + HEARTH_AGENT_CA_KEY) and more CAs whose
   * certificates agents may present (HEARTH_AGENT_TRUSTED_CA, a PEM bundle).
   */
  agentCa?: AgentCaFiles;
  /**
   * The Docker Engine API subset (docs/docker.md). Unix socket: default HEARTH_DOCKER_SOCKET, else
   * `<data dir>/docker.sock` ('' or null: none); mode HEARTH_DOCKER_SOCKET_MODE (octal), else 0600.
   * TCP: HEARTH_DOCKER_LISTEN (`127.0.0.1:2375`), else none.
   */
  docker?: Partial<DockerApiConfig>;
  /** Where node22 functions' package.json dependencies come from (else HEARTH_NPM_REGISTRY, else npm's own setting). */
  npmRegistry?: string;
  /** Webhook delivery: retry timing and the clock (tests); docs/webhooks.md. */
  webhooks?: WebhookOptions;
  /** The clock the metrics history stamps and ages samples by (tests move it); default Date.now. */
  now?: () => number;
  /** GET /metrics for a scraper: a token of its own (HEARTH_METRICS_TOKEN), or public (HEARTH_METRICS_PUBLIC=1). */
  scrape?: { token?: string | null; public?: boolean };
}
