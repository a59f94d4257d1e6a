import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { join } from 'node:path';
import { killLeftoverVmms, startPlatform, type Platform } from './platform.ts';
import { ip, testNamespace, type TestNs } from './netns.ts';
import { runHearth, type Proc } from './proc.ts';

export interface NsHost {
  ns: TestNs;
  agent: Proc;
  name: string;
  dir: string;
  id: string;
}

export interface NsCluster {
  p: Platform;
  tag: string;
  hosts: NsHost[];
  /** A VXLAN network every host carries. */
  network: string;
  dispose(): Promise<void>;
}

/**
 * A manager without a local agent and `count` agents (`hearth agent` processes), each in a
 * network namespace of its own on an underlay bridge the manager listens on, with a VXLAN network
 * spanning them: hosts as a cluster has them (the pattern of e2e/overlay.test.ts).
 */
export async function startNsCluster(prefix: string, count: number): Promise<NsCluster> {
  const tag = randomBytes(3).toString('hex');
  const u = randomInt(2, 250);
  const bridge = `${prefix}u${tag}`;
  const sub = `10.247.${u}`;
  ip('link', 'add', bridge, 'type', 'bridge');
  const hosts: NsHost[] = [];
  let p: Platform | null = null;
  const dispose = async () => {
    for (const h of hosts) {
      await h.agent.kill('SIGTERM').catch(() => undefined);
      await killLeftoverVmms(h.dir);
      h.ns.dispose();
    }
    await p?.dispose();
    spawnSync('ip', ['link', 'del', bridge]);
  };
  try {
    ip('addr', 'add', `${sub}.1/24`, 'dev', bridge);
    ip('link', 'set', bridge, 'up');
    p = await startPlatform({ managerHost: `${sub}.1`, agent: false });
    for (let i = 2; i < 2 + count; i++) {
      const ns = testNamespace({ hostCidr: null, nsCidrs: [`${sub}.${i}/24`], prefix });
      ip('link', 'set', ns.hostSide, 'master', bridge);
      const name = `${prefix}-${i}-${tag}`;
      const dir = join(p.dir, name);
      const agent = runHearth(
        [
          ...['--data-dir', dir, 'agent', '--manager', p.manager.url, '--join-token', p.joinToken],
          ...['--listen', `${sub}.${i}`, '--port', '18081', '--name', name, '--underlay', `${sub}.${i}`],
        ],
        {},
        { netns: ns.name },
      );
      const h: NsHost = { ns, agent, name, dir, id: '' };
      hosts.push(h);
      await agent.waitFor('agent registered', 120_000);
      h.id = (await p.client.call('listHosts', {})).items.find((x) => x.name === name)!.id;
    }
    const net = await p.client.call('createNetwork', {
      body: {
        name: `${prefix}-${tag}`,
        mode: 'vxlan',
        vni: randomInt(1000, 16_000_000),
        cidr: `10.246.${u}.0/24`,
      },
    });
    return { p, tag, hosts, network: net.name, dispose };
  } catch (e) {
    await dispose();
    throw e;
  }
}
