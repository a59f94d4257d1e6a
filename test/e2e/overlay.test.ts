import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vm } from '@hearth/contract';
import { bridgeFor, vxlanDev } from '@hearth/agent';
import { killLeftoverVmms, startPlatform, type Platform } from '../helpers/platform.ts';
import { deleteVmAndWait, guestSh, ip, testNamespace, type TestNs } from '../helpers/netns.ts';
import { runHearth, type Proc } from '../helpers/proc.ts';
import { until } from '../helpers/vm.ts';

// Bridged and VXLAN networks across test hosts that are network namespaces: a LAN namespace
// with its own DHCP server, and two agents in namespaces of their own joined by an underlay
// bridge, each running one VM on the same VXLAN network.
const tag = randomBytes(3).toString('hex');
const u = randomInt(2, 250);
const underlayBridge = `hul${tag}`;
const managerIp = `10.250.${u}.1`;
let p: Platform;
let lan: TestNs;
let dhcp: ChildProcess | null = null;
const hosts: { ns: TestNs; agent: Proc; name: string; dir: string }[] = [];

async function serveHttp(vm: Vm, text: string): Promise<void> {
  const r = await guestSh(
    p.client,
    vm.id,
    `mkdir -p /srv/www && echo ${text} > /srv/www/index.html && httpd -p 8080 -h /srv/www`,
  );
  expect(r.exitCode).toBe(0);
}

/** An agent of its own in a namespace of its own, on the underlay bridge. */
async function startHost(i: number): Promise<(typeof hosts)[number]> {
  const ns = testNamespace({ hostCidr: null, nsCidrs: [`10.250.${u}.${i}/24`], prefix: 'hh' });
  ip('link', 'set', ns.hostSide, 'master', underlayBridge);
  const name = `host-${i}-${tag}`;
  const dir = join(p.dir, name);
  const agent = runHearth(
    [
      '--data-dir',
      dir,
      'agent',
      '--manager',
      p.manager.url,
      '--join-token',
      p.joinToken,
      '--listen',
      `10.250.${u}.${i}`,
      '--port',
      '18081',
      '--name',
      name,
      '--underlay',
      `10.250.${u}.${i}`,
    ],
    {},
    { netns: ns.name },
  );
  const h = { ns, agent, name, dir };
  hosts.push(h);
  await agent.waitFor('agent registered', 120_000);
  return h;
}

beforeAll(async () => {
  // The LAN: a bare veth end on the host (what the bridged network takes), a DHCP server inside.
  lan = testNamespace({ hostCidr: null, nsCidrs: [`192.168.${u}.1/24`], prefix: 'hlan' });
  dhcp = spawn(
    'ip',
    [
      'netns',
      'exec',
      lan.name,
      'dnsmasq',
      '--conf-file=/dev/null',
      '--keep-in-foreground',
      '--no-hosts',
      '--no-resolv',
      '--port=0',
      '--bind-interfaces',
      '--interface=eth0',
      `--dhcp-range=192.168.${u}.100,192.168.${u}.150,255.255.255.0,1h`,
      `--dhcp-option=3,192.168.${u}.1`,
      `--dhcp-leasefile=/tmp/hearth-test-leases-${tag}`,
      `--pid-file=/tmp/hearth-test-dhcp-${tag}.pid`,
    ],
    { stdio: 'ignore' },
  );
  // The underlay: a host bridge the manager listens on, and a namespace per test host.
  ip('link', 'add', underlayBridge, 'type', 'bridge');
  ip('addr', 'add', `${managerIp}/24`, 'dev', underlayBridge);
  ip('link', 'set', underlayBridge, 'up');
  p = await startPlatform({ managerHost: managerIp });
  await startHost(2);
}, 300_000);

afterAll(async () => {
  for (const h of hosts) {
    await h.agent.kill('SIGTERM').catch(() => undefined);
    await killLeftoverVmms(h.dir);
    h.ns.dispose();
  }
  await p?.dispose();
  dhcp?.kill('SIGKILL');
  for (const f of [`/tmp/hearth-test-leases-${tag}`, `/tmp/hearth-test-dhcp-${tag}.pid`])
    rmSync(f, { force: true });
  lan?.dispose();
  spawnSync('ip', ['link', 'del', underlayBridge]);
});

describe('bridged and VXLAN networks (test hosts in network namespaces)', () => {
  it('bridged: the guest takes its address from the LAN DHCP server and is reachable from the LAN', async () => {
    const host = await p.client.call('getHost', { params: { id: p.agent!.hostId } });
    expect(host.inventory.interfaces.map((i) => i.name)).toContain(lan.hostSide);
    const net = await p.client.call('createNetwork', {
      body: { name: `lan-${tag}`, mode: 'bridged', interface: lan.hostSide },
    });
    expect(net.cidr).toBeNull();
    const created = await p.client.call('createVm', {
      body: { name: 'on-lan', network: net.name, host: p.agent!.hostId },
    });
    expect(created.networks[0]!.ip).toBeNull();
    const vm = await p.client.call('waitVm', {
      params: { id: created.id },
      query: { state: 'running', timeout: 180 },
    });
    let lease: string | null = null;
    await until(
      'the manager learns the DHCP address',
      async () => {
        const now = await p.client.call('getVm', { params: { id: vm.id } });
        lease = now.networks[0]!.ip;
        return lease !== null;
      },
      90_000,
    );
    expect(lease).toMatch(new RegExp(`^192\\.168\\.${u}\\.(1[0-4]\\d|150)$`));
    const leases = await p.client.call('listLeases', { params: { id: net.id } });
    expect(leases.items).toEqual([expect.objectContaining({ vmName: 'on-lan', ip: lease, source: 'dhcp' })]);
    await serveHttp(vm, 'hello-from-lan-guest');
    expect(lan.fetch(`http://${lease}:8080/`)).toBe('hello-from-lan-guest\n');
    // Removing VM and network gives the interface back: no bridge left, the veth is free again.
    await deleteVmAndWait(p.client, vm.id);
    await p.client.call('deleteNetwork', { params: { id: net.id } });
    expect(ip('link', 'show', 'dev', lan.hostSide)).not.toContain('master');
    expect(spawnSync('ip', ['link', 'show', 'dev', net.bridge]).status).not.toBe(0);
  });

  it('vxlan: VMs on two hosts share one subnet, and the hosts carry it as VXLAN on the underlay', async () => {
    const hostId = async (name: string) =>
      (await p.client.call('listHosts', {})).items.find((h) => h.name === name)!.id;
    const vni = randomInt(1000, 16_000_000);
    const net = await p.client.call('createNetwork', {
      body: { name: `vx-${tag}`, mode: 'vxlan', vni, cidr: `10.249.${u}.0/24` },
    });
    await expectClash(vni);
    const boot = async (name: string, host: string) => {
      const vm = await p.client.call('createVm', {
        body: { name, network: net.name, host: await hostId(host) },
      });
      return p.client.call('waitVm', { params: { id: vm.id }, query: { state: 'running', timeout: 180 } });
    };
    // The second host joins after the first already carries the overlay: the first learns it
    // from the manager when it registers, without any VM restarting.
    const a = await boot('vx-a', hosts[0]!.name);
    const hb = await startHost(3);
    const b = await boot('vx-b', hb.name);
    expect(a.host).not.toBe(b.host);
    // Capture on the underlay while the VMs talk.
    const cap = spawn('tcpdump', ['-i', underlayBridge, '-n', '-l', '-c', '4', 'udp', 'port', '4789'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let seen = '';
    cap.stdout.on('data', (d: Buffer) => (seen += d.toString()));
    await new Promise((r) => cap.stderr.once('data', r)); // "listening on …"
    try {
      await serveHttp(b, 'hello-over-vxlan');
      const got = await guestSh(p.client, a.id, `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 ${b.ip} 8080`);
      expect(got.stdout).toContain('hello-over-vxlan');
      await until('VXLAN packets captured', () => /VXLAN/.test(seen), 10_000);
      expect(seen).toContain(`vni ${vni}`);
      expect(seen).toMatch(new RegExp(`10\\.250\\.${u}\\.[23]\\.\\d+ > 10\\.250\\.${u}\\.[23]\\.4789`));
    } finally {
      cap.kill('SIGKILL');
    }
    for (const vm of [a, b]) {
      await deleteVmAndWait(p.client, vm.id);
    }
    await p.client.call('deleteNetwork', { params: { id: net.id } });
    for (const h of hosts) {
      const links = h.ns.run(['ip', '-o', 'link']).stdout;
      expect(links).not.toContain(bridgeFor(net.id));
      expect(links).not.toContain(vxlanDev(net.id));
      expect(h.ns.run(['nft', 'list', 'tables']).stdout).not.toContain('hearth_');
    }
  });
});

async function expectClash(vni: number): Promise<void> {
  const e = await p.client
    .call('createNetwork', { body: { name: `vx2-${tag}`, mode: 'vxlan', vni, cidr: `10.248.${u}.0/24` } })
    .then(
      () => null,
      (x: { code?: string }) => x,
    );
  expect(e?.code).toBe('NETWORK_VNI_TAKEN');
}
