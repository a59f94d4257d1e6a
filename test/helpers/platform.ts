import { randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import pino from 'pino';
import { startManager, type ManagerConfig, type RunningManager } from '@hearth/manager';
import {
  AGENT_DEFAULTS,
  guardTable,
  policyTable,
  portTable,
  removeBridge,
  startAgent,
  sweepLeftovers,
  tapName,
  type RunningAgent,
} from '@hearth/agent';
import { execFileSync } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import { HearthClient } from '@hearth/sdk';
import { AGENT_ENV, AGENT_NODE_FLAGS } from '@hearth/agent/defaults';
import { detectCgroups, removeVmCgroup } from '@hearth/vmm';
import { freshDatabase, testPgUrl } from './pg.ts';
import { seedPglite } from './pglite-template.ts';
import { runHearth, type Proc } from './proc.ts';

/** The VMM the end-to-end tests ask for: HEARTH_TEST_VMM=firecracker on a KVM host; default the host's best. */
export const testVmm = (): 'firecracker' | 'qemu' | undefined =>
  (process.env.HEARTH_TEST_VMM as 'firecracker' | 'qemu' | undefined) || undefined;

export const testLog = () => pino({ level: process.env.HEARTH_TEST_LOG ?? 'silent' });

export interface TestNet {
  bridge: string;
  cidr: string;
  gateway: string;
}

/** A bridge name and subnet no other test (or `hearth up`) uses. */
export function uniqueNet(): TestNet {
  const a = randomInt(100, 200);
  const b = randomInt(1, 250);
  return {
    bridge: `hbt${randomBytes(4).toString('hex')}`,
    cidr: `10.${a}.${b}.0/24`,
    gateway: `10.${a}.${b}.1`,
  };
}

export interface Platform {
  dir: string;
  net: TestNet;
  manager: RunningManager;
  agent: RunningAgent | null;
  client: HearthClient;
  databaseUrl: string | null;
  /** The bootstrap administrator's token (what `client` sends), for clients outside this process. */
  adminToken: string;
  /** Agents started elsewhere (other network namespaces) join with this. */
  joinToken: string;
  startManager(): Promise<RunningManager>;
  startAgent(): Promise<RunningAgent>;
  dispose(): Promise<void>;
}

/** The pid files a VMM leaves in its VM's run directory. */
const VMM_PID_FILES = ['qemu.pid', 'firecracker.pid'];

/**
 * Whether `pid` is still this VM's VMM: its command line names the VM (QEMU's `-name`, the
 * jailer's id) or the VMM runs in the VM's run directory (Firecracker, a stand-in), or it is a
 * QEMU/Firecracker binary. A stale pid file whose pid went to an unrelated process is left alone.
 */
async function isVmmOf(pid: number, id: string, runDir: string): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => '');
  const bin = basename(cmdline.split('\0')[0] ?? '');
  return cmdline.includes(id) || cwd === runDir || /^(qemu-system|firecracker)/.test(bin);
}

/**
 * Kills every VMM, QEMU or Firecracker, whose pid file lives under `dir` (safety net when a test
 * fails midway), then removes the TAPs and the nft tables the VMs had: each TAP with one `ip`
 * call, and every table that exists in one `nft -f` batch (one nft call per table took seconds
 * each with fifty VMs' rules loaded on a busy machine).
 */
export async function killLeftoverVmms(dir: string): Promise<void> {
  const vmsDir = join(dir, 'agent', 'vms');
  const ids = await readdir(vmsDir).catch(() => [] as string[]);
  for (const id of ids) {
    const runDir = join(vmsDir, id);
    for (const file of VMM_PID_FILES) {
      const pid = Number((await readFile(join(runDir, file), 'utf8').catch(() => '')).trim());
      if (!(Number.isInteger(pid) && pid > 1 && (await isVmmOf(pid, id, runDir)))) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  const links = new Set(
    execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.split(':')[1]?.trim().split('@')[0]),
  );
  for (const id of ids) {
    if (!links.has(tapName(id))) continue;
    try {
      execFileSync('ip', ['link', 'del', 'dev', tapName(id)], { stdio: 'ignore' });
    } catch {
      /* removed meanwhile */
    }
  }
  // Each per-VM table: published ports, the TAP guard, the egress policy. The guard table
  // outlives its TAP (only its chains go with the device), so it must be named here.
  const tables = new Set(execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' }).split('\n'));
  const gone = ids.flatMap((id) =>
    (
      [
        ['ip', portTable(id)],
        ['netdev', guardTable(id)],
        ['inet', policyTable(id)],
      ] as const
    )
      .filter(([family, table]) => tables.has(`table ${family} ${table}`))
      .map(([family, table]) => `delete table ${family} ${table}`),
  );
  if (gone.length)
    execFileSync('nft', ['-f', '-'], { input: gone.join('\n') + '\n', stdio: ['pipe', 'ignore', 'ignore'] });
  // The VMs' cgroups: the agent removes one after its VMM exits, and a test's agent is gone first.
  const cgroups = await detectCgroups();
  for (const id of ids) await removeVmCgroup(cgroups, id).catch(() => undefined);
}

/**
 * A GET straight to an agent's API (tests of its own checks), trusting the platform's agent CA as
 * the manager does; the host-name check is left out (the certificate names a host id). The status.
 */
export async function agentGet(p: Platform, url: string, token: string): Promise<number> {
  const ca = await readFile(join(p.dir, 'manager', 'ca', 'ca.crt'), 'utf8');
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      { headers: { authorization: `Bearer ${token}` }, ca, checkServerIdentity: () => undefined },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The host id the agent of a data directory registered with (its labels carry it); '' if none. */
export async function agentHostId(dir: string): Promise<string> {
  const raw = await readFile(join(dir, 'agent', 'agent.json'), 'utf8').catch(() => '{}');
  return (JSON.parse(raw) as { hostId?: string }).hostId ?? '';
}

/** Manager + local agent in this process, with their own data dir, bridge and (optionally) database. */
export async function startPlatform(
  opts: {
    db?: 'pglite' | 'postgres';
    agent?: boolean;
    port?: number;
    maxUploadBytes?: number;
    uiDir?: string;
    /** Extra manager settings (image import options). */
    manager?: Pick<
      ManagerConfig,
      | 'allowHostPathImport'
      | 'insecureRegistries'
      | 'importAllow'
      | 'maxImageBytes'
      | 'hostWaitMs'
      | 'hostOfflineMs'
      | 'hostUnreachableMs'
      | 'importIdleMs'
      | 'oidc'
      | 'sessionTtlMs'
      | 'sessionIdleMs'
      | 'adminPassword'
      | 'signInLimits'
      | 'memoryPolicy'
      | 'diskPolicy'
      | 'placement'
      | 'agentCa'
      | 'poolIntervalMs'
      | 'containerSweepMs'
      | 'poolRefill'
      | 'npmRegistry'
      | 'idempotencyRetention'
      | 'idempotencyPendingTimeout'
      | 'docker'
      | 'e2bDomain'
      | 'schedules'
      | 'now'
      | 'scrape'
    >;
    /** The manager's logger (tests that read its lines); default testLog(). */
    log?: pino.Logger;
    /** The local agent's logger; default testLog(). */
    agentLog?: pino.Logger;
    /** The agent fetches images over HTTP from the manager instead of reading its files. */
    alwaysFetchImages?: boolean;
    /** Where the bridge's DNS forwarder sends queries (a test DNS server). */
    dnsUpstream?: string[];
    /** Address the manager listens on (default loopback); agents in namespaces need a routable one. */
    managerHost?: string;
  } = {},
): Promise<Platform> {
  const dir = await mkdtemp(join(tmpdir(), 'hearth-test-'));
  const net = uniqueNet();
  let dropDb: (() => Promise<void>) | null = null;
  let databaseUrl: string | null = null;
  if (opts.db === 'postgres') {
    const base = testPgUrl();
    if (!base) throw new Error('PostgreSQL tests need HEARTH_TEST_PG_URL (scripts/test.sh sets it)');
    const fresh = await freshDatabase(base);
    databaseUrl = fresh.url;
    dropDb = fresh.drop;
  }
  const log = testLog();
  const managerLog = opts.log ?? log;
  const agentName = `test-${net.bridge}`;
  const adminToken = `hth_admin_test_${randomBytes(12).toString('hex')}`;
  const joinToken = `hth_join_test_${randomBytes(12).toString('hex')}`;
  let port = opts.port ?? 0;
  const p: Platform = {
    dir,
    net,
    databaseUrl,
    adminToken,
    joinToken,
    agent: null,
    manager: null as unknown as RunningManager,
    client: null as unknown as HearthClient,
    async startManager() {
      // A first start on PGlite copies a migrated data directory instead of running initdb.
      const pgliteDir = join(dir, 'manager', 'db');
      if (!databaseUrl && !(await stat(pgliteDir).catch(() => null))) await seedPglite(pgliteDir);
      p.manager = await startManager({
        dataDir: join(dir, 'manager'),
        host: opts.managerHost ?? '127.0.0.1',
        port,
        databaseUrl,
        network: { bridge: net.bridge, cidr: net.cidr, dns: net.gateway },
        heartbeatMs: 1000,
        adminToken,
        joinToken,
        log: managerLog,
        version: 'test',
        ...(opts.maxUploadBytes ? { maxUploadBytes: opts.maxUploadBytes } : {}),
        ...(opts.uiDir ? { uiDir: opts.uiDir } : {}),
        ...opts.manager,
      });
      // A restarted manager comes back on the same port, as a real one would.
      port = Number(new URL(p.manager.url).port);
      p.client = new HearthClient({ baseUrl: p.manager.url, token: adminToken });
      return p.manager;
    },
    async startAgent() {
      p.agent = await startAgent({
        ...AGENT_DEFAULTS,
        listenPort: 0,
        heartbeatMs: 1000,
        dataDir: join(dir, 'agent'),
        managerUrl: p.manager.url,
        joinToken,
        name: agentName,
        bridge: { bridge: net.bridge, gatewayCidr: `${net.gateway}/24`, subnet: net.cidr },
        ...(opts.dnsUpstream ? { dnsUpstream: opts.dnsUpstream } : {}),
        alwaysFetchImages: opts.alwaysFetchImages ?? false,
        log: opts.agentLog ?? log,
      });
      return p.agent;
    },
    async dispose() {
      await p.agent?.dispose().catch(() => undefined);
      await p.manager?.dispose().catch(() => undefined);
      await killLeftoverVmms(dir);
      // Whatever the agent built and labelled (networks, TAPs, tables) goes, even after a failure.
      await sweepLeftovers({
        owners: [await agentHostId(dir), agentName],
        runningVms: new Set(),
        networksInUse: new Set(),
        keepBridges: new Set(),
        log,
      }).catch(() => undefined);
      await removeBridge(net.bridge);
      await dropDb?.().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await p.startManager();
    if (opts.agent !== false) await p.startAgent();
  } catch (e) {
    await p.dispose();
    throw e;
  }
  return p;
}

/**
 * A real agent process (`hearth agent`, as hosts run it) for a platform started with
 * `agent: false`: it joins the platform's manager with the platform's data directory and network.
 * It runs with the Node.js flags `hearth up` gives its agent; `env` adds to its environment.
 */
export function runAgentProcess(p: Platform, name: string, env: Record<string, string> = {}): Proc {
  return runHearth(
    [
      'agent',
      '--manager',
      p.manager.url,
      '--join-token',
      p.manager.joinToken,
      '--data-dir',
      p.dir,
      '--port',
      '0',
      '--name',
      name,
      '--bridge',
      p.net.bridge,
      '--cidr',
      p.net.cidr,
    ],
    { ...AGENT_ENV, ...env },
    { nodeFlags: AGENT_NODE_FLAGS },
  );
}
