import { VmSampler } from './metrics.ts';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Ipv4, type RegisterHostBody } from '@hearth/contract';
import { LOG_REDACT } from '@hearth/contract/log-redaction';
import { FirecrackerDriver } from '@hearth/firecracker';
import { QemuDriver } from '@hearth/qemu';
import { detectAccel } from '@hearth/vmm';
import { ensureGuestAgent } from '@hearth/images';
import { buildAgentApp } from './app.ts';
import { collectInventory, hostNetFeatures } from './inventory.ts';
import { HostCpu } from './host-cpu.ts';
import { enableKsm } from './ksm.ts';
import { sweepLeftovers } from './sweep.ts';
import { AppLogHub } from './app-logs/collector.ts';
import { ManagerClient } from './manager-client.ts';
import { register } from './register.ts';
import { ReportQueue } from './report-queue.ts';
import { ImageCache } from './image-cache.ts';
import { Supervisor } from './vm/index.ts';
import { defaultBootLimit } from './vm/boot-gate.ts';
import { VmConfiner, type ConfineConfig } from './vm/confine.ts';
import { ensureBridge } from './networks.ts';
import { ensureDns } from './dns.ts';
import { trackChanges } from './drain.ts';
import { lockDataDir } from './pid-lock.ts';
import { loadServing, saveIssued, type AgentTlsMode } from './tls.ts';
import type { Server as TlsServer } from 'node:tls';

/** How often a heartbeat sweeps what deleted networks left, when their list did not change. */
const HEARTBEAT_SWEEP_EVERY_MS = 60_000;

export interface AgentConfig {
  dataDir: string;
  /** The manager's URL; several replicas' separated by commas (the agent fails over between them). */
  managerUrl: string;
  /** Joins a new host ('' when the data directory holds a host credential to re-register with). */
  joinToken: string;
  name?: string;
  listenHost: string;
  /** 0 picks a free port */
  listenPort: number;
  /** URL the manager uses to reach us; default http://listenHost:port */
  advertiseUrl?: string;
  heartbeatMs: number;
  bootTimeoutMs: number;
  consoleLogCap: number;
  bridge: { bridge: string; gatewayCidr: string; subnet: string } | null;
  /** Address other hosts reach this one on, for VXLAN; default: none (VXLAN networks refused here). */
  underlay?: string | null;
  /** DNS servers the bridge's forwarder asks (host:port or IP#port); default the host's resolv.conf. */
  dnsUpstream?: string[];
  /** Guest agent binary to inject into images without one; default: built from apps/guest (cached). */
  guestAgentPath?: string | null;
  /** Firecracker binary (path or name on PATH); default HEARTH_FIRECRACKER_BIN or `firecracker`. */
  firecrackerBin?: string;
  /** Jailer binary, or false to run Firecracker unjailed; default HEARTH_JAILER_BIN or `jailer`. */
  jailerBin?: string | false;
  /** Run Firecracker unjailed (as root) when no jailer is found; also HEARTH_FIRECRACKER_NO_JAILER=1. */
  firecrackerNoJailer?: boolean;
  /** Trust KVM although the CPU shows no vmx/svm; also HEARTH_FIRECRACKER_TRUST_KVM=1. */
  firecrackerTrustKvm?: boolean;
  /**
   * Firecracker VMs track dirty pages so diff snapshots can be taken (default true); false saves
   * the tracking's cost where only full snapshots are wanted.
   */
  firecrackerDiffSnapshots?: boolean;
  /** QEMU confinement: uid range, parent cgroup, memory overhead (defaults in vm/confine.ts). */
  confine?: Partial<ConfineConfig>;
  /** Turn on kernel same-page merging at start (a host-wide setting; off by default). */
  ksm?: boolean;
  /** QEMU under TCG: the translation cache per VM in MiB (packages/qemu/src/args.ts). */
  tcgCacheMib?: number;
  /** VMs booting at once at most (vm/boot-gate.ts); default from the accelerator and the cores. */
  maxConcurrentBoots?: number;
  /** Host labels sent at each registration (`--label k=v`); the manager sets them over its own. */
  labels?: Record<string, string>;
  /** Fetch every image from the manager instead of reading the manager's files (tests). */
  alwaysFetchImages?: boolean;
  /**
   * The API over TLS: default the key and certificate the manager issues at registration; the
   * operator's PEM files; or `false`, plain HTTP (an explicit opt-out).
   */
  tls?: { certFile: string; keyFile: string } | false;
  log: Logger;
}

export { AGENT_DEFAULTS } from './defaults.ts';

import type { AgentIdentity } from './register.ts';

export interface RunningAgent {
  url: string;
  hostId: string;
  supervisor: Supervisor;
  /** Stops taking requests, lets changing ones finish (bounded, default 30 s), then lets go. Idempotent. */
  dispose(drainMs?: number): Promise<void>;
}

/** The identity file holds both credentials: written 0600, replaced whole (never half-written). */
async function saveIdentity(dataDir: string, id: AgentIdentity): Promise<void> {
  const path = join(dataDir, 'agent.json');
  await writeFile(`${path}.tmp`, JSON.stringify(id) + '\n', { mode: 0o600 });
  await chmod(`${path}.tmp`, 0o600);
  await rename(`${path}.tmp`, path);
}

async function loadIdentity(dataDir: string): Promise<AgentIdentity> {
  try {
    return JSON.parse(await readFile(join(dataDir, 'agent.json'), 'utf8')) as AgentIdentity;
  } catch {
    const id = { callbackToken: randomBytes(32).toString('base64url') };
    await saveIdentity(dataDir, id);
    return id;
  }
}

/**
 * Registers with the host's current agent credential when it has one (the manager then keeps its
 * host id: a join token alone cannot re-register a known name), else, or when the manager no
 * longer knows that credential, with the join token.
 */
/** Starts an agent: adopts surviving VMs, serves the agent API, registers and heartbeats. */
export async function startAgent(cfg: AgentConfig): Promise<RunningAgent> {
  // Whoever made the logger, credentials (tokens, headers, secret fields) never reach a line of it.
  const log = cfg.log.child({}, { redact: LOG_REDACT });
  await mkdir(cfg.dataDir, { recursive: true, mode: 0o700 });
  let identity = await loadIdentity(cfg.dataDir);
  if (cfg.ksm) log.info({ ksm: await enableKsm() }, 'kernel same-page merging');
  // Firecracker first: the scheduler prefers it wherever it is usable: it boots faster and lighter than QEMU.
  const drivers = [
    new FirecrackerDriver({
      binary: cfg.firecrackerBin,
      jailer: cfg.firecrackerNoJailer ? false : cfg.jailerBin,
      ...(cfg.firecrackerTrustKvm ? { trustKvm: true } : {}),
      trackDirtyPages: cfg.firecrackerDiffSnapshots ?? true,
      log: log.child({ component: 'firecracker' }),
    }),
    new QemuDriver(cfg.tcgCacheMib ? { tcgCacheMib: cfg.tcgCacheMib } : {}),
  ];
  const client = new ManagerClient(cfg.managerUrl, cfg.joinToken);
  let hostId = identity.hostId ?? '';
  const reports = new ReportQueue(
    (batch) => (hostId ? client.report(hostId, batch) : null),
    log.child({ component: 'reports' }),
  );

  let guestAgentPath = cfg.guestAgentPath;
  if (guestAgentPath === undefined) {
    guestAgentPath = await ensureGuestAgent().then(
      (a) => a.path,
      (e: Error) => {
        log.warn({ err: e.message }, 'no guest agent binary: images without one get no exec or shell');
        return null;
      },
    );
  }
  const agentName = (cfg.name ?? hostname()).replace(/[^A-Za-z0-9_.-]/g, '_');
  if (cfg.underlay && !Ipv4.safeParse(cfg.underlay).success) {
    throw new Error(`--underlay ${cfg.underlay} is not an IPv4 address`);
  }
  const lock = await lockDataDir(cfg.dataDir, log);
  const features = new Set((await hostNetFeatures()).filter((f) => f.ok).map((f) => f.name));
  // What this agent builds is labelled with its host id (see `label` in networks.ts), known once
  // it registered: names are not unique (two agents on one machine default to its hostname).
  const netCtx = {
    agent: '',
    underlay: cfg.underlay ?? null,
    dnsUpstream: cfg.dnsUpstream ?? [],
    features,
  };
  const confiner = new VmConfiner(join(cfg.dataDir, 'vms'), log.child({ component: 'confine' }), cfg.confine);
  // App status changes go to the manager on the same path as unexpected VM changes.
  const appLogs = new AppLogHub(log.child({ component: 'app-logs' }), (id, app, appEvents) => {
    reports.push({ ...supervisor.status(id), app, appEvents });
  });
  const maxConcurrentBoots =
    cfg.maxConcurrentBoots ?? defaultBootLimit((await detectAccel()).accel, availableParallelism());
  log.info({ maxConcurrentBoots }, 'boots at a time');
  const supervisor: Supervisor = new Supervisor({
    maxConcurrentBoots,
    confiner,
    appLogs,
    net: netCtx,
    guestAgentPath,
    images: new ImageCache({
      dir: join(cfg.dataDir, 'images'),
      fetchContent: (id) => client.fetchImage(id),
      alwaysFetch: cfg.alwaysFetchImages ?? false,
    }),
    dataDir: cfg.dataDir,
    drivers,
    log: log.child({ component: 'supervisor' }),
    bootTimeoutMs: cfg.bootTimeoutMs,
    consoleLogCap: cfg.consoleLogCap,
    onUnexpectedChange: (s) => {
      reports.push(s);
    },
  });

  // The API listens (the manager needs our address to register us) but answers only once the
  // host is set up: calls that arrive before wait for it.
  let opened!: () => void;
  let failed!: (e: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    opened = resolve;
    failed = reject;
  });
  ready.catch(() => undefined);
  const tlsMode: AgentTlsMode =
    cfg.tls === false ? { kind: 'plain' } : cfg.tls ? { kind: 'files', ...cfg.tls } : { kind: 'issued' };
  if (tlsMode.kind !== 'plain' && cfg.advertiseUrl?.startsWith('http:')) {
    throw new Error(
      `--advertise ${cfg.advertiseUrl} is plain HTTP while the agent serves HTTPS: use https://`,
    );
  }
  const serving = tlsMode.kind === 'plain' ? null : await loadServing(cfg.dataDir, tlsMode);
  const sampler = new VmSampler(supervisor, log.child({ component: 'sampler' }));
  const app = buildAgentApp({
    sampler,
    scrape: {
      token: process.env.HEARTH_AGENT_METRICS_TOKEN || null,
      public: process.env.HEARTH_AGENT_METRICS_PUBLIC === '1',
    },
    https: tlsMode.kind === 'plain' ? null : (serving ?? {}),
    issuedTls: tlsMode.kind === 'issued',
    supervisor,
    callbackToken: identity.callbackToken,
    rotate: async ({ tls, ...c }) => {
      // The new key first: an agent that stops now still holds its (valid) old credentials, and
      // its next registration issues yet another certificate.
      if (tls) await saveIssued(cfg.dataDir, tls);
      identity = { ...identity, ...c };
      await saveIdentity(cfg.dataDir, identity);
      client.setToken(c.agentToken);
      log.info('credentials rotated');
    },
    log: log.child({ component: 'api' }),
    ready,
  });
  const changes = trackChanges(app);
  const previousHostId = identity.hostId ?? null;
  const closeApp = async (drainMs: number) => {
    const closing = app.close();
    if (!(await changes.drain(drainMs))) log.warn('requests still in flight at shutdown');
    // Streams (consoles, log follows, downloads) do not end by themselves.
    app.server.closeAllConnections();
    await closing;
  };
  let url: string;
  try {
    await app.listen({ host: cfg.listenHost, port: cfg.listenPort });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : cfg.listenPort;
    url = cfg.advertiseUrl ?? `${tlsMode.kind === 'plain' ? 'http' : 'https'}://${cfg.listenHost}:${port}`;

    // Checked afresh at each start (an operator may have installed or fixed something).
    const inventory = await collectInventory(cfg.dataDir, drivers, {
      underlay: cfg.underlay ?? null,
      confiner,
      maxAgeMs: 0,
    });
    const body: RegisterHostBody = {
      name: cfg.name ?? hostname(),
      url,
      callbackToken: identity.callbackToken,
      inventory,
      ...(cfg.labels && Object.keys(cfg.labels).length ? { labels: cfg.labels } : {}),
      ...(tlsMode.kind === 'issued' ? { certificate: 'issue' as const } : {}),
      // The operator's certificate: the manager pins it for this host.
      ...(tlsMode.kind === 'files' && serving ? { servingCertificate: serving.cert } : {}),
    };
    const reg = await register(client, identity, cfg.joinToken, body, log);
    if (tlsMode.kind === 'issued') {
      if (!reg.tls)
        throw new Error('The manager issued no TLS certificate for this agent; it cannot serve HTTPS.');
      // Served from now on (the manager calls us only after this answer); kept for the next start.
      (app.server as unknown as TlsServer).setSecureContext({ key: reg.tls.key, cert: reg.tls.cert });
      await saveIssued(cfg.dataDir, reg.tls);
    }
    hostId = reg.host.id;
    netCtx.agent = hostId;
    client.setToken(reg.agentToken);
    identity = { ...identity, hostId, agentToken: reg.agentToken };
    await saveIdentity(cfg.dataDir, identity);

    if (cfg.bridge) {
      await ensureBridge(cfg.bridge, hostId);
      await ensureDns(cfg.bridge.bridge, cfg.bridge.gatewayCidr.split('/')[0]!, cfg.dnsUpstream ?? []);
    }
    await supervisor.init();
    await sweepLeftovers({
      // Ours: labelled with this host id, or with the one we had before the manager forgot us, or
      // (agents before host-id labels) with our name.
      owners: [hostId, ...(previousHostId && previousHostId !== hostId ? [previousHostId] : []), agentName],
      runningVms: supervisor.runningVmIds(),
      networksInUse: supervisor.networksInUse(),
      keepBridges: new Set(cfg.bridge ? [cfg.bridge.bridge] : []),
      log,
    });
    opened();
  } catch (e) {
    failed(e as Error);
    await closeApp(0).catch(() => undefined);
    supervisor.dispose();
    appLogs.dispose();
    await lock.release();
    throw e;
  }
  log.info({ hostId, url, vms: supervisor.list().length }, 'agent registered');

  const lastSweep: { key: string | null; at: number } = { key: null, at: 0 };
  // Primed now, so the first heartbeat already carries the use since start-up.
  const hostCpu = new HostCpu();
  void hostCpu.sample();
  const beat = async () => {
    try {
      const samples = sampler.take();
      const res = await client
        .heartbeat(
          hostId,
          await collectInventory(cfg.dataDir, drivers, {
            underlay: cfg.underlay ?? null,
            confiner,
            cpu: hostCpu,
          }),
          supervisor.list(),
          samples,
        )
        .catch((e: unknown) => {
          sampler.giveBack(samples);
          throw e;
        });
      // Networks deleted while this host was unreachable: what it built for them goes now. The
      // sweep lists links and nftables (processes spawned): done when the networks or the host's
      // links changed (a directory read), and otherwise once a minute.
      const networksKey = res.networks
        ? `${[...res.networks].sort().join(',')} ${(await readdir('/sys/class/net').catch(() => [])).sort().join(',')}`
        : null;
      if (
        res.networks &&
        (networksKey !== lastSweep.key || Date.now() - lastSweep.at >= HEARTBEAT_SWEEP_EVERY_MS)
      ) {
        lastSweep.key = networksKey;
        lastSweep.at = Date.now();
        await sweepLeftovers({
          owners: [hostId],
          kinds: ['net'],
          runningVms: new Set(),
          networksInUse: new Set([...res.networks, ...supervisor.networksInUse()]),
          keepBridges: new Set(cfg.bridge ? [cfg.bridge.bridge] : []),
          log,
        });
      }
      await reports.flush();
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'heartbeat failed');
    }
  };
  await beat();
  sampler.start();
  const heartbeatTimer = setInterval(() => void beat(), cfg.heartbeatMs);
  heartbeatTimer.unref();

  let disposed = false;
  return {
    url,
    hostId,
    supervisor,
    async dispose(drainMs = 30_000) {
      if (disposed) return;
      disposed = true;
      clearInterval(heartbeatTimer);
      sampler.dispose();
      // Requests already accepted (a delete removing its TAP) finish before the agent lets go.
      await closeApp(drainMs);
      supervisor.dispose();
      appLogs.dispose();
      await lock.release();
    },
  };
}
