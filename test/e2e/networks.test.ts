import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Network, Vm } from '@hearth/contract';
import { natTable, nicTap, policyTable } from '@hearth/agent';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { expectCode } from '../helpers/expect.ts';
import { deleteVmAndWait, guestSh, ip, testNamespace, type TestNs } from '../helpers/netns.ts';
import { cli } from '../helpers/proc.ts';
import { linkExists, until } from '../helpers/vm.ts';

// Networks with real VMs: a second NAT network, an isolated one, a VM with two NICs, egress
// policy and rate limits changed live, and "the internet" played by a network namespace.
let p: Platform;
let inet: TestNs;
let net2: Network;
let iso: Network;
let a: Vm; // default NAT network
let b: Vm; // second NAT network
let c: Vm; // isolated only
let d: Vm; // default NAT + isolated
let clone: Vm; // clone of d
const o = randomInt(2, 250);
const inetIp = `10.251.${o}.2`;
const inetIp2 = `10.251.${o}.3`;
const PORT = 7001;
const BULK = 7002;
const SINK = 7003;
const PUB = randomInt(36000, 40000);

const nft = () => execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' });
const reach = async (vm: Vm, host: string, port = PORT) =>
  (await guestSh(p.client, vm.id, `nc -w 3 ${host} ${port} </dev/null`)).stdout.trim();
const ping = async (vm: Vm, host: string) =>
  (await guestSh(p.client, vm.id, `ping -c 1 -W 2 ${host}`)).exitCode === 0;
const nicIp = (vm: Vm, net: Network) => vm.networks.find((n) => n.network === net.id)!.ip!;

async function boot(name: string, body: Record<string, unknown>): Promise<Vm> {
  const vm = await p.client.call('createVm', { body: { name, ...body } });
  return p.client.call('waitVm', { params: { id: vm.id }, query: { state: 'running', timeout: 180 } });
}

beforeAll(async () => {
  inet = testNamespace({
    hostCidr: `10.251.${o}.1/29`,
    nsCidrs: [`${inetIp}/29`, `${inetIp2}/29`],
    prefix: 'hin',
  });
  await inet.serve(PORT, 'text', 'hello-internet');
  await inet.serve(BULK, 'bulk', 1024 * 1024);
  await inet.serve(SINK, 'sink');
  p = await startPlatform();
  const x = randomInt(200, 225);
  const y = randomInt(1, 250);
  net2 = await p.client.call('createNetwork', {
    body: { name: `n2-${o}`, mode: 'nat', cidr: `10.${x}.${y}.0/24` },
  });
  iso = await p.client.call('createNetwork', {
    body: { name: `iso-${o}`, mode: 'isolated', cidr: `10.${x + 25}.${y}.0/24` },
  });
  a = await boot('net-a', {});
  b = await boot('net-b', { network: net2.name });
  c = await boot('net-c', { networks: [iso.name] });
  d = await boot('net-d', { networks: ['default', { network: iso.name, ip: `10.${x + 25}.${y}.77` }] });
}, 600_000);

afterAll(async () => {
  await p?.dispose();
  inet?.dispose();
});

describe('networks (real VMs, test hosts in network namespaces)', () => {
  it('gives each NIC an address from its network, configured in the guest and listed as leases', async () => {
    expect(a.networks).toHaveLength(1);
    expect(a.networks[0]!.networkName).toBe('default');
    expect(nicIp(b, net2).startsWith(net2.cidr!.split('.').slice(0, 3).join('.'))).toBe(true);
    expect(d.networks.map((n) => n.networkName)).toEqual(['default', iso.name]);
    expect(nicIp(d, iso)).toMatch(/\.77$/);
    expect(d.ip).toBe(d.networks[0]!.ip);
    const addrs = (await guestSh(p.client, d.id, 'ip -o -4 addr show')).stdout;
    expect(addrs).toContain(`${d.networks[0]!.ip}/24`);
    expect(addrs).toContain(`${nicIp(d, iso)}/24`);
    const leases = await p.client.call('listLeases', { params: { id: iso.id } });
    expect(leases.items.map((l) => [l.vmName, l.ip, l.source]).sort()).toEqual(
      [
        ['net-c', nicIp(c, iso), 'ipam'],
        ['net-d', nicIp(d, iso), 'ipam'],
      ].sort(),
    );
    const list = await p.client.call('listNetworks', {});
    expect(list.items.find((n) => n.id === iso.id)?.vmCount).toBe(2);
  });

  it('NAT networks reach the outside through the host (masqueraded)', async () => {
    expect(await reach(a, inetIp)).toBe('hello-internet');
    expect(await reach(b, inetIp)).toBe('hello-internet');
    expect(await reach(d, inetIp)).toBe('hello-internet');
  });

  it('isolated: its VMs reach each other and nothing else', async () => {
    expect(await ping(c, nicIp(d, iso))).toBe(true);
    expect(await ping(d, nicIp(c, iso))).toBe(true);
    expect(await reach(c, inetIp)).toBe('');
    expect((await guestSh(p.client, c.id, 'ip route')).stdout).not.toContain('default');
    // The host has no address on the bridge, not even IPv6 link-local: no way in to the host.
    expect(execFileSync('ip', ['-o', 'addr', 'show', 'dev', iso.bridge], { encoding: 'utf8' })).toBe('');
  });

  it('VMs on different networks cannot reach each other', async () => {
    expect(await ping(a, nicIp(b, net2))).toBe(false);
    expect(await ping(b, a.ip!)).toBe(false);
    // Within one network they can.
    expect(await ping(a, d.ip!)).toBe(true);
  });

  it('egress policy: denied CIDRs are unreachable, allowed ones reachable, changed live', async () => {
    let vm = await p.client.call('patchVm', {
      params: { id: a.id },
      body: { egress: { default: 'allow', allow: [], deny: [`${inetIp2}/32`] } },
    });
    expect(vm.egress.deny).toEqual([`${inetIp2}/32`]);
    expect(await reach(a, inetIp)).toBe('hello-internet');
    expect(await reach(a, inetIp2)).toBe('');
    vm = await p.client.call('patchVm', {
      params: { id: a.id },
      body: { egress: { default: 'deny', allow: [inetIp2], deny: [] } },
    });
    expect(await reach(a, inetIp2)).toBe('hello-internet');
    expect(await reach(a, inetIp)).toBe('');
    // Its own network (gateway, DNS, neighbours) stays reachable under deny-all.
    expect(await ping(a, d.ip!)).toBe(true);
    // Replies pass: a published port answers a client the policy would not let the VM call.
    const served = await guestSh(
      p.client,
      a.id,
      'mkdir -p /srv/www && echo published-under-deny > /srv/www/index.html && httpd -p 8080 -h /srv/www',
    );
    expect(served.exitCode).toBe(0);
    await p.client.call('patchVm', { params: { id: a.id }, body: { ports: [{ host: PUB, guest: 8080 }] } });
    expect(inet.fetch(`http://10.251.${o}.1:${PUB}/`)).toBe('published-under-deny\n');
    // So does the host itself on loopback (the guest sees the bridge's gateway as the client).
    const local = spawnSync('curl', ['-sS', '--max-time', '10', `http://127.0.0.1:${PUB}/`], {
      encoding: 'utf8',
    });
    expect(local.stdout).toBe('published-under-deny\n');
    expect(nft()).toContain(policyTable(a.id));
    await p.client.call('patchVm', {
      params: { id: a.id },
      body: { egress: { default: 'allow', allow: [], deny: [] } },
    });
    expect(await reach(a, inetIp)).toBe('hello-internet');
    expect(nft()).not.toContain(policyTable(a.id));
  });

  it('bandwidth limit: both directions are held to the rate, and lifted live', async () => {
    const timed = async (cmd: string) => {
      const t0 = Date.now();
      const r = await guestSh(p.client, b.id, cmd);
      return { ms: Date.now() - t0, out: r.stdout.trim() };
    };
    const down = `nc -w 10 ${inetIp} ${BULK} </dev/null | wc -c`;
    const up = `head -c 1048576 /dev/zero | nc -w 10 ${inetIp} ${SINK}`;
    await p.client.call('patchVm', { params: { id: b.id }, body: { bandwidthMbit: 2 } });
    const tap = nicTap(b.id, 0);
    expect(execFileSync('tc', ['qdisc', 'show', 'dev', tap], { encoding: 'utf8' })).toContain('tbf');
    // 1 MiB at 2 Mbit/s takes 4 s; anything under 2 s would mean the limit is not there.
    const limitedDown = await timed(down);
    expect(limitedDown.out).toBe('1048576');
    expect(limitedDown.ms).toBeGreaterThan(2000);
    const limitedUp = await timed(up);
    expect(limitedUp.out).toBe('1048576');
    expect(limitedUp.ms).toBeGreaterThan(2000);
    await p.client.call('patchVm', { params: { id: b.id }, body: { bandwidthMbit: null } });
    expect(execFileSync('tc', ['qdisc', 'show', 'dev', tap], { encoding: 'utf8' })).not.toContain('tbf');
    expect((await timed(down)).out).toBe('1048576');
  });

  it('refuses bad input with clear errors and leaves nothing half-applied', async () => {
    const before = (await p.client.call('listNetworks', {})).items.length;
    const create = (body: Record<string, unknown>) => p.client.call('createNetwork', { body: body as never });
    await expectCode(() => create({ name: 'overlap', cidr: net2.cidr }), 'NETWORK_CIDR_OVERLAP', 409);
    await expectCode(() => create({ name: 'tiny', cidr: '10.254.9.0/30' }), 'NETWORK_CIDR_TOO_SMALL', 422);
    await expectCode(
      () => create({ name: iso.name, mode: 'isolated', cidr: '10.254.10.0/24' }),
      'NETWORK_NAME_TAKEN',
      409,
    );
    await expectCode(
      () => create({ name: 'v1', mode: 'bridged', interface: inet.hostSide, vlan: 5000 }),
      'VALIDATION_FAILED',
      400,
    );
    const vlan = await expectCode(
      () => create({ name: 'v2', mode: 'bridged', interface: inet.hostSide, vlan: 42 }),
      'NETWORK_FEATURE_MISSING',
      422,
    );
    expect(vlan.message).toMatch(/802\.1Q/);
    await expectCode(
      () => create({ name: 'br', mode: 'bridged', interface: 'nosuch0' }),
      'NETWORK_INTERFACE_MISSING',
      422,
    );
    await expectCode(
      () => create({ name: 'vx0', mode: 'vxlan', cidr: '10.254.11.0/24' }),
      'NETWORK_INVALID',
      422,
    );
    await expectCode(() => create({ name: 'nocidr', mode: 'nat' }), 'NETWORK_INVALID', 422);
    await expectCode(
      () =>
        p.client.call('createVm', {
          body: { name: 'dup-ip', networks: [{ network: iso.name, ip: nicIp(d, iso) }] },
        }),
      'NETWORK_IP_UNAVAILABLE',
      409,
    );
    await expectCode(
      () => p.client.call('createVm', { body: { name: 'nonet', network: 'nosuch' } }),
      'NETWORK_NOT_FOUND',
      404,
    );
    await expectCode(() => p.client.call('deleteNetwork', { params: { id: iso.id } }), 'NETWORK_IN_USE', 409);
    await expectCode(
      () => p.client.call('deleteNetwork', { params: { id: 'default' } }),
      'NETWORK_BUILTIN',
      409,
    );
    expect((await p.client.call('listNetworks', {})).items).toHaveLength(before);
    const vms = (await p.client.call('listVms', {})).items.map((v) => v.name);
    expect(vms).not.toContain('dup-ip');
    expect(vms).not.toContain('nonet');
  });

  it('the CLI creates, lists and removes networks, and places VMs on them', async () => {
    const env = { HEARTH_URL: p.manager.url, HEARTH_TOKEN: p.manager.adminToken };
    const name = `cli-${o}`;
    const made = await cli(
      ['network', 'create', name, '--mode', 'isolated', '--cidr', `10.254.${o}.0/24`],
      env,
    );
    expect(made.code).toBe(0);
    expect(made.stdout).toContain(`network ${name}`);
    const ls = await cli(['network', 'ls'], env);
    expect(ls.stdout).toMatch(new RegExp(`${name}\\s+net_\\S+\\s+isolated\\s+10\\.254\\.${o}\\.0/24`));
    expect(ls.stdout).toContain('default (default)');
    const vm = await cli(
      [
        '--json',
        'create',
        '--name',
        'cli-net',
        '--no-start',
        '--network',
        `${name}=10.254.${o}.9`,
        '--egress',
        'deny',
        '--allow',
        '10.0.0.0/8',
        '--bandwidth',
        '50',
      ],
      env,
    );
    expect(vm.code).toBe(0);
    const got = JSON.parse(vm.stdout) as Vm;
    expect(got.networks).toEqual([expect.objectContaining({ networkName: name, ip: `10.254.${o}.9` })]);
    expect(got.egress).toEqual({ default: 'deny', allow: ['10.0.0.0/8'], deny: [] });
    expect(got.bandwidthMbit).toBe(50);
    const leases = await cli(['network', 'leases', name], env);
    expect(leases.stdout).toMatch(new RegExp(`cli-net\\s+0\\s+\\S+\\s+10\\.254\\.${o}\\.9\\s+ipam`));
    // --allow alone replaces the list and keeps the default: a deny-by-default VM stays closed.
    const narrowed = await cli(['--json', 'update', 'cli-net', '--allow', '192.0.2.0/24'], env);
    expect(JSON.parse(narrowed.stdout).egress).toEqual({
      default: 'deny',
      allow: ['192.0.2.0/24'],
      deny: [],
    });
    const upd = await cli(['--json', 'update', 'cli-net', '--egress', 'allow', '--bandwidth', 'none'], env);
    expect(upd.code).toBe(0);
    expect(JSON.parse(upd.stdout).bandwidthMbit).toBeNull();
    const busy = await cli(['network', 'rm', name], env);
    expect(busy.code).not.toBe(0);
    expect(busy.stderr).toContain('NETWORK_IN_USE');
    const listed = await cli(['ls'], env);
    expect(listed.stdout).toMatch(new RegExp(`cli-net.*10\\.254\\.${o}\\.9`));
    await deleteVmAndWait(p.client, got.id);
    expect((await cli(['network', 'rm', name], env)).code).toBe(0);
  });

  it('an agent restart keeps running VMs networked and sweeps only leftovers it labelled itself', async () => {
    await p.client.call('patchVm', {
      params: { id: a.id },
      body: { egress: { default: 'allow', allow: [], deny: [`${inetIp2}/32`] } },
    });
    // Labels carry the host id: agent names are not unique on a machine.
    const me = p.agent!.hostId;
    const t = randomBytes(4).toString('hex');
    const mine = { tap: `htap${t}0`, bridge: `hbr${t}0`, table: `hearth_eg_${t}0000` };
    const theirs = `htap${t}1`;
    ip('tuntap', 'add', 'dev', mine.tap, 'mode', 'tap');
    ip('link', 'set', 'dev', mine.tap, 'alias', `hearth:vm:vm_gone${t}:${me}`);
    ip('tuntap', 'add', 'dev', theirs, 'mode', 'tap');
    ip('link', 'set', 'dev', theirs, 'alias', `hearth:vm:vm_gone${t}:another-agent`);
    ip('link', 'add', 'name', mine.bridge, 'type', 'bridge');
    ip('link', 'set', 'dev', mine.bridge, 'alias', `hearth:net:net_gone${t}:${me}`);
    execFileSync('nft', ['-f', '-'], {
      input: `table netdev ${mine.table} {\n  comment "hearth:vm:vm_gone${t}:${me}"\n}\n`,
    });
    try {
      await p.agent!.dispose();
      await p.startAgent();
      expect(linkExists(mine.tap)).toBe(false);
      expect(linkExists(mine.bridge)).toBe(false);
      expect(nft()).not.toContain(mine.table);
      expect(linkExists(theirs)).toBe(true);
      // The running VMs kept their TAPs, policy and reachability.
      expect(linkExists(nicTap(d.id, 1))).toBe(true);
      expect(nft()).toContain(policyTable(a.id));
      expect(await reach(a, inetIp2)).toBe('');
      expect(await reach(a, inetIp)).toBe('hello-internet');
      expect(await ping(c, nicIp(d, iso))).toBe(true);
    } finally {
      for (const l of [mine.tap, mine.bridge, theirs]) spawnSync('ip', ['link', 'del', l]);
      spawnSync('nft', ['delete', 'table', 'netdev', mine.table]);
    }
  });

  it('a clone of a two-NIC VM gets new addresses on both NICs, applied inside the guest', async () => {
    await p.client.call('createSnapshot', { params: { id: d.id }, body: { name: `d-snap-${o}` } });
    const made = await p.client.call('createVm', { body: { name: 'net-d2', snapshot: `d-snap-${o}` } });
    clone = await p.client.call('waitVm', {
      params: { id: made.id },
      query: { state: 'running', timeout: 180 },
    });
    expect(clone.networks.map((n) => n.networkName)).toEqual(['default', iso.name]);
    expect(clone.networks[0]!.ip).not.toBe(d.networks[0]!.ip);
    expect(nicIp(clone, iso)).not.toBe(nicIp(d, iso));
    const addrs = (await guestSh(p.client, clone.id, 'ip -o -4 addr show')).stdout;
    expect(addrs).toContain(`${clone.networks[0]!.ip}/24`);
    expect(addrs).toContain(`${nicIp(clone, iso)}/24`);
    expect(addrs).not.toContain(`${nicIp(d, iso)}/`);
    const links = (await guestSh(p.client, clone.id, 'cat /sys/class/net/*/address')).stdout;
    for (const n of clone.networks) expect(links).toContain(n.mac);
    expect(await ping(c, nicIp(clone, iso))).toBe(true);
    expect(await reach(clone, inetIp)).toBe('hello-internet');
  });

  it("a network deleted while a host could not hear about it goes at that host's next heartbeat", async () => {
    const me = p.agent!.hostId;
    const t = randomBytes(4).toString('hex');
    const bridge = `hbr${t}9`;
    ip('link', 'add', 'name', bridge, 'type', 'bridge');
    ip('link', 'set', 'dev', bridge, 'alias', `hearth:net:net_deleted${t}:${me}`);
    try {
      await until('the stale bridge is swept', () => !linkExists(bridge), 15_000);
      // Networks that exist stay, with or without VMs on this host.
      expect(linkExists(iso.bridge)).toBe(true);
      expect(linkExists(p.net.bridge)).toBe(true);
    } finally {
      spawnSync('ip', ['link', 'del', bridge]);
    }
  });

  it('after deleting all VMs and networks no TAP, bridge or table of theirs remains', async () => {
    for (const vm of [a, b, c, d, clone]) {
      await deleteVmAndWait(p.client, vm.id);
    }
    for (const n of [net2, iso]) await p.client.call('deleteNetwork', { params: { id: n.id } });
    const tables = nft();
    for (const vm of [a, b, c, d, clone]) {
      for (let i = 0; i < vm.networks.length; i++) expect(linkExists(nicTap(vm.id, i))).toBe(false);
      expect(tables).not.toContain(policyTable(vm.id));
    }
    for (const n of [net2, iso]) {
      expect(linkExists(n.bridge)).toBe(false);
      expect(tables).not.toContain(natTable(n.bridge));
    }
    expect(execFileSync('ip', ['route'], { encoding: 'utf8' })).not.toContain(net2.cidr!);
  });
});
