import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HearthClient } from '@hearth/sdk';
import { freshDatabase } from './pg.ts';
import { killLeftoverVmms, uniqueNet } from './platform.ts';
import { ip, testNamespace, type TestNs } from './netns.ts';
import { freePort, runHearth, type Proc } from './proc.ts';

export interface ProcHost {
  ns: TestNs;
  agent: Proc;
  name: string;
  dir: string;
  id: string;
  /** Starts (again, after a kill) its `hearth agent` process; resolves once it registered. */
  start(): Promise<void>;
}

export interface ProcCluster {
  url: string;
  /** The manager's database (a test reads what the API does not show, such as fences). */
  databaseUrl: string;
  client: HearthClient;
  env: Record<string, string>;
  manager: Proc;
  hosts: ProcHost[];
  network: string;
  tag: string;
  /** Starts the manager process again on the same database, data directory and port. */
  startManager(): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * The ns-hosts.ts cluster with the manager as a real `hearth manager` process (on a fresh
 * PostgreSQL database) that a test can kill -9 and start again: agents in network namespaces on
 * an underlay bridge, and a VXLAN network spanning them.
 */
export async function startProcCluster(pgUrl: string, prefix: string, count: number): Promise<ProcCluster> {
  const tag = randomBytes(3).toString('hex');
  const u = randomInt(2, 250);
  const bridge = `${prefix}u${tag}`;
  const sub = `10.247.${u}`;
  const dir = await mkdtemp(join(tmpdir(), 'hearth-mv-'));
  const mdir = join(dir, 'mgr');
  const db = await freshDatabase(pgUrl);
  const net = uniqueNet();
  const port = await freePort();
  const url = `http://${sub}.1:${port}`;
  const menv: Record<string, string> = {
    DATABASE_URL: db.url,
    HEARTH_SEAL_KEY: randomBytes(32).toString('hex'),
    HEARTH_DOCKER_SOCKET: '',
    HEARTH_BRIDGE: net.bridge,
    HEARTH_CIDR: net.cidr,
  };
  ip('link', 'add', bridge, 'type', 'bridge');
  const hosts: ProcHost[] = [];
  const c: ProcCluster = {
    databaseUrl: db.url,
    url,
    client: null as unknown as HearthClient,
    env: {},
    manager: null as unknown as Proc,
    hosts,
    network: '',
    tag,
    async startManager() {
      c.manager = runHearth(
        ['--data-dir', mdir, 'manager', '--port', String(port), '--host', `${sub}.1`],
        menv,
      );
      await c.manager.waitFor('Hearth manager is up', 120_000);
      const token = (await readFile(join(mdir, 'admin.token'), 'utf8')).trim();
      c.client = new HearthClient({ baseUrl: url, token });
      c.env = { HEARTH_URL: url, HEARTH_TOKEN: token };
    },
    async dispose() {
      for (const h of hosts) {
        await h.agent?.kill('SIGTERM').catch(() => undefined);
        await killLeftoverVmms(h.dir);
        h.ns.dispose();
      }
      await c.manager?.kill('SIGTERM').catch(() => undefined);
      spawnSync('ip', ['link', 'del', bridge]);
      await db.drop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    ip('addr', 'add', `${sub}.1/24`, 'dev', bridge);
    ip('link', 'set', bridge, 'up');
    await c.startManager();
    const joinToken = (await readFile(join(mdir, 'manager', 'join.token'), 'utf8')).trim();
    for (let i = 2; i < 2 + count; i++) {
      const ns = testNamespace({ hostCidr: null, nsCidrs: [`${sub}.${i}/24`], prefix });
      ip('link', 'set', ns.hostSide, 'master', bridge);
      const name = `${prefix}-${i}-${tag}`;
      const h: ProcHost = {
        ns,
        agent: null as unknown as Proc,
        name,
        dir: join(dir, name),
        id: '',
        async start() {
          h.agent = runHearth(
            [
              ...['--data-dir', h.dir, 'agent', '--manager', url, '--join-token', joinToken],
              ...['--listen', `${sub}.${i}`, '--port', '18081', '--name', name, '--underlay', `${sub}.${i}`],
            ],
            {},
            { netns: ns.name },
          );
          await h.agent.waitFor('agent registered', 120_000);
        },
      };
      hosts.push(h);
      await h.start();
      h.id = (await c.client.call('listHosts', {})).items.find((x) => x.name === name)!.id;
    }
    const n = await c.client.call('createNetwork', {
      body: {
        name: `${prefix}-${tag}`,
        mode: 'vxlan',
        vni: randomInt(1000, 16_000_000),
        cidr: `10.246.${u}.0/24`,
      },
    });
    c.network = n.name;
    return c;
  } catch (e) {
    await c.dispose();
    throw e;
  }
}
