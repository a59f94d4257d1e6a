import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HearthClient } from '@hearth/sdk';
import { AGENT_ENV, AGENT_NODE_FLAGS } from '@hearth/agent/defaults';
import { ip, testNamespace, type TestNs } from '../netns.ts';
import { startPgServer, type PgServer } from '../pg-server.ts';
import { killLeftoverVmms } from '../platform.ts';
import { runHearth, type Proc } from '../proc.ts';
import { startReplicas, type Replica, type ReplicaCluster } from '../replicas.ts';
import { until } from '../vm.ts';

/** One host of the chaos cluster: a `hearth agent` in a network namespace of its own. */
export interface ChaosHost {
  name: string;
  /** Its address on the underlay. */
  addr: string;
  ns: TestNs;
  dir: string;
  id: string;
  agent: Proc | null;
  /** kill -9 of the agent (its VMMs keep running, as when only the agent crashes). */
  kill9(): Promise<void>;
  /** Starts the agent again on its data directory; resolves once it registered. */
  start(): Promise<void>;
  linkDown: boolean;
  cutLink(): void;
  restoreLink(): void;
}

export interface ChaosTopology {
  tag: string;
  pg: PgServer;
  pgDown: boolean;
  cluster: ReplicaCluster;
  replicas: Replica[];
  hosts: ChaosHost[];
  /** A VXLAN network every host carries. */
  network: string;
  /** A client of a replica whose process runs (the first such, or a random one with `pick`). */
  client(pick?: (n: number) => number): Promise<HearthClient>;
  dispose(): Promise<void>;
}

/**
 * Three agents in network namespaces on an underlay bridge, two `hearth manager` replicas
 * listening on that bridge, and a PostgreSQL server of the topology's own (so that it can be
 * restarted without touching the suite's shared one). Agents are given both replicas' URLs.
 */
export async function startChaosTopology(
  o: { hosts?: number; leaseMs?: number } = {},
): Promise<ChaosTopology> {
  const tag = randomBytes(3).toString('hex');
  const u = randomInt(2, 250);
  const sub = `10.248.${u}`;
  const bridge = `hcu${tag}`;
  ip('link', 'add', bridge, 'type', 'bridge');
  const hosts: ChaosHost[] = [];
  let pg: PgServer | null = null;
  let cluster: ReplicaCluster | null = null;
  const dispose = async () => {
    for (const h of hosts) {
      await h.agent?.kill('SIGKILL').catch(() => undefined);
      await killLeftoverVmms(h.dir).catch(() => undefined);
      h.ns.dispose();
    }
    pg?.start();
    await cluster?.dispose().catch(() => undefined);
    await pg?.dispose();
    spawnSync('ip', ['link', 'del', bridge]);
  };
  try {
    ip('addr', 'add', `${sub}.1/24`, 'dev', bridge);
    ip('link', 'set', bridge, 'up');
    pg = await startPgServer();
    cluster = await startReplicas(pg.url, { host: `${sub}.1`, leaseMs: o.leaseMs ?? 3000 });
    const c = cluster;
    const joinToken = (await readFile(join(c.replicas[0]!.dir, 'manager', 'join.token'), 'utf8')).trim();
    const topo: ChaosTopology = {
      tag,
      pg,
      pgDown: false,
      cluster: c,
      replicas: c.replicas,
      hosts,
      network: '',
      async client(pick = () => 0) {
        const live = c.replicas.filter(
          (r) => r.proc && r.proc.child.exitCode === null && !r.proc.child.signalCode,
        );
        if (!live.length) throw new Error('no manager replica runs');
        return live[pick(live.length) % live.length]!.client();
      },
      dispose,
    };
    for (let i = 0; i < (o.hosts ?? 3); i++) {
      const addr = `${sub}.${i + 2}`;
      const ns = testNamespace({ hostCidr: null, nsCidrs: [`${addr}/24`], prefix: 'hc' });
      ip('link', 'set', ns.hostSide, 'master', bridge);
      const name = `chaos-${i}-${tag}`;
      const dir = join(c.dir, name);
      const h: ChaosHost = {
        name,
        addr,
        ns,
        dir,
        id: '',
        agent: null,
        linkDown: false,
        async kill9() {
          await h.agent?.kill('SIGKILL');
          h.agent = null;
        },
        async start() {
          const args = ['--data-dir', dir, 'agent'];
          for (const r of c.replicas) args.push('--manager', r.url);
          args.push('--join-token', joinToken, '--listen', addr, '--port', '18081');
          args.push('--name', name, '--underlay', addr);
          h.agent = runHearth(
            args,
            { ...AGENT_ENV, HEARTH_LOG_FORMAT: 'json' },
            { netns: ns.name, nodeFlags: AGENT_NODE_FLAGS },
          );
          await h.agent.waitFor('agent registered', 180_000);
        },
        cutLink() {
          ip('link', 'set', ns.hostSide, 'down');
          h.linkDown = true;
        },
        restoreLink() {
          ip('link', 'set', ns.hostSide, 'up');
          h.linkDown = false;
        },
      };
      hosts.push(h);
      await h.start();
    }
    const admin = await topo.client();
    const listed = await admin.all('listHosts');
    for (const h of hosts) h.id = listed.find((x) => x.name === h.name)!.id;
    await until(
      'every chaos host is ready',
      async () => (await admin.all('listHosts')).filter((x) => x.state === 'ready').length >= hosts.length,
      120_000,
    );
    const net = await admin.call('createNetwork', {
      body: {
        name: `chaos-${tag}`,
        mode: 'vxlan',
        vni: randomInt(1000, 16_000_000),
        cidr: `10.249.${u}.0/24`,
      },
    });
    topo.network = net.name;
    return topo;
  } catch (e) {
    await dispose();
    throw e;
  }
}
