import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HearthClient } from '@hearth/sdk';
import { AGENT_ENV, AGENT_NODE_FLAGS } from '@hearth/agent/defaults';
import { removeBridge } from '@hearth/agent';
import { freshDatabase } from './pg.ts';
import { killLeftoverVmms, uniqueNet, type TestNet } from './platform.ts';
import { freePort, runHearth, type Proc } from './proc.ts';

/** One `hearth manager` process of a replicated control plane (its own data directory and port). */
export interface Replica {
  name: string;
  dir: string;
  port: number;
  url: string;
  proc: Proc | null;
  /** Starts (or restarts, on the same data directory and port) the process; resolves once it listens. */
  start(): Promise<void>;
  /** kill -9; resolves once the process is gone. */
  kill9(): Promise<void>;
  client(): Promise<HearthClient>;
  /** Times (ms since the epoch) of this process's log lines saying it became the leader. */
  leaderSince(): number[];
}

export interface ReplicaCluster {
  dir: string;
  net: TestNet;
  databaseUrl: string;
  replicas: Replica[];
  agent: Proc | null;
  /** A real agent (`hearth agent`) given every replica's URL, in order. */
  startAgent(name: string): Promise<Proc>;
  dispose(): Promise<void>;
}

/**
 * Real manager replicas on one PostgreSQL database (fresh, dropped at the end): the same seal key
 * and agent CA (the first replica's), a short leader lease. Replicas start one after the other so
 * that the first one leads.
 */
export async function startReplicas(
  pgUrl: string,
  o: {
    count?: number;
    leaseMs?: number;
    /** Listen address (default loopback); agents in network namespaces need a routable one. */
    host?: string;
    /** Extra environment for every replica. */
    env?: Record<string, string>;
  } = {},
): Promise<ReplicaCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'hearth-ha-'));
  const net = uniqueNet();
  const db = await freshDatabase(pgUrl);
  const env: Record<string, string> = {
    DATABASE_URL: db.url,
    HEARTH_SEAL_KEY: randomBytes(32).toString('hex'),
    HEARTH_LEADER_LEASE_MS: String(o.leaseMs ?? 3000),
    HEARTH_DOCKER_SOCKET: '',
    HEARTH_BRIDGE: net.bridge,
    HEARTH_CIDR: net.cidr,
    HEARTH_LOG_FORMAT: 'json',
    ...o.env,
  };
  const host = o.host ?? '127.0.0.1';
  const replicas: Replica[] = [];
  const make = async (name: string): Promise<Replica> => {
    const rdir = join(dir, name);
    const port = await freePort();
    const r: Replica = {
      name,
      dir: rdir,
      port,
      url: `http://${host}:${port}`,
      proc: null,
      async start() {
        r.proc = runHearth(['--data-dir', rdir, 'manager', '--port', String(port), '--host', host], env);
        await r.proc.waitFor('Hearth manager is up', 120_000);
      },
      async kill9() {
        await r.proc?.kill('SIGKILL');
      },
      async client() {
        const token = (await readFile(join(rdir, 'admin.token'), 'utf8')).trim();
        return new HearthClient({ baseUrl: r.url, token });
      },
      leaderSince() {
        return (r.proc?.output() ?? '')
          .split('\n')
          .filter((l) => l.includes('became leader'))
          .map((l) => new Date((JSON.parse(l) as { time: number | string }).time).getTime());
      },
    };
    return r;
  };
  const cluster: ReplicaCluster = {
    dir,
    net,
    databaseUrl: db.url,
    replicas,
    agent: null,
    async startAgent(name) {
      const a = replicas[0]!;
      const join_ = (await readFile(join(a.dir, 'manager', 'join.token'), 'utf8')).trim();
      const args = ['--data-dir', join(dir, 'host'), 'agent'];
      for (const r of replicas) args.push('--manager', r.url);
      args.push('--join-token', join_, '--port', '0', '--name', name);
      args.push('--bridge', net.bridge, '--cidr', net.cidr);
      cluster.agent = runHearth(
        args,
        { ...AGENT_ENV, HEARTH_LOG_FORMAT: 'json' },
        { nodeFlags: AGENT_NODE_FLAGS },
      );
      await cluster.agent.waitFor('agent registered', 120_000).catch((e: Error) => {
        // The replicas' errors say why a registration failed.
        const errors = replicas.flatMap((r) =>
          (r.proc?.output() ?? '').split('\n').filter((l) => /"level":(50|60)/.test(l)),
        );
        throw new Error(`${e.message}\nreplica errors:\n${errors.join('\n').slice(-4000)}`);
      });
      return cluster.agent;
    },
    async dispose() {
      await cluster.agent?.kill().catch(() => undefined);
      for (const r of replicas) await r.proc?.kill().catch(() => undefined);
      await killLeftoverVmms(join(dir, 'host')).catch(() => undefined);
      await removeBridge(net.bridge).catch(() => undefined);
      await db.drop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    const count = o.count ?? 2;
    for (let i = 0; i < count; i++) {
      const r = await make(String.fromCharCode(97 + i));
      replicas.push(r);
      await r.start();
      if (i === 0) {
        // Every replica checks agents' certificates against the same CA: the first one's.
        env.HEARTH_AGENT_CA_CERT = join(r.dir, 'manager', 'ca', 'ca.crt');
        env.HEARTH_AGENT_CA_KEY = join(r.dir, 'manager', 'ca', 'ca.key');
      }
    }
  } catch (e) {
    await cluster.dispose();
    throw e;
  }
  return cluster;
}
