import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentNetwork, AgentNic } from '@hearth/contract';
import { nicTap, policyTable, policyText } from '../vm-net.ts';
import { networkRulesText } from './bridge-rules.ts';
import { guardText } from './tap-guard.ts';
import { encapsulate, type Datagram } from '../../../../test/helpers/vxlan-frame.ts';
import {
  arrived,
  inNs,
  listen,
  probeChildren,
  run,
  send,
  type Lines,
} from '../../../../test/helpers/netns-probe.ts';

// Attacks of a hostile guest, played by network namespaces. A namespace standing in for the host
// carries a NAT bridge with three "guests" plugged in by veth links named like VM TAPs (the
// anti-spoofing chains are keyed on those names), a VXLAN overlay with one member, and a link to
// an "outside" namespace that also plays the cloud's metadata server and the underlay peers.
// Each probe is followed by a marker sent the same way that must arrive: once it is in, the probe
// had its chance, so no test waits on a clock.
const tag = randomBytes(3).toString('hex');
const o = randomInt(2, 250);
const ns = {
  host: `hah${tag}`,
  a: `haa${tag}`,
  v: `hav${tag}`,
  o: `hao${tag}`,
  wan: `haw${tag}`,
  p: `hap${tag}`,
};
const bridge = `hbn${tag}`;
const overlay = `hbv${tag}`;
const vx = `hvx${tag}`;
const gw = `10.253.${o}.1`;
const bridgeMac = '02:00:00:00:01:01';
const hostUnderlay = `10.254.${o}.1`;
const peerUnderlay = `10.254.${o}.2`;
const strangerUnderlay = `10.254.${o}.3`;
const allowedOutside = `10.254.${o}.4`;
const overlayMember = { ip: `10.99.${o}.2`, mac: '02:00:00:00:99:02' };
const vni = randomInt(1000, 9000);
const agentPort = randomInt(20000, 30000);
const agent = `agent-${tag}`;
const guests = {
  a: { vm: `vm_a${tag}`, ip: `10.253.${o}.2`, mac: `02:48:0a:fd:${o.toString(16).padStart(2, '0')}:02` },
  v: { vm: `vm_v${tag}`, ip: `10.253.${o}.3`, mac: `02:48:0a:fd:${o.toString(16).padStart(2, '0')}:03` },
  o: { vm: `vm_o${tag}`, ip: `10.253.${o}.4`, mac: `02:48:0a:fd:${o.toString(16).padStart(2, '0')}:04` },
};
const nat: AgentNetwork = {
  id: `net_n${tag}`,
  name: 'nat',
  mode: 'nat',
  bridge,
  cidr: `10.253.${o}.0/24`,
  gateway: gw,
  dnsForwarder: true,
  interface: null,
  vlan: null,
  vxlan: null,
};
const vxlanNet: AgentNetwork = {
  ...nat,
  id: `net_v${tag}`,
  mode: 'vxlan',
  bridge: overlay,
  cidr: `10.99.${o}.0/24`,
  gateway: null,
  dnsForwarder: false,
  vxlan: { vni, port: 4789, remotes: [peerUnderlay] },
};

const ip = (...a: string[]) => execFileSync('ip', a, { stdio: 'pipe' });
const sysctl = (n: string, key: string, value: string) => {
  const r = inNs(n, ['sysctl', '-qw', `${key}=${value}`]);
  expect(r.stderr).toBe('');
};
const load = (text: string) => {
  const r = inNs(ns.host, ['nft', '-f', '-'], text);
  expect(r.stderr).toBe('');
};

const guardFor = (g: (typeof guests)['a']) =>
  guardText(g.vm, [{ device: nicTap(g.vm, 0), mac: g.mac, ip: g.ip }], `hearth:vm:${g.vm}:${agent}`);

let hostLines: Lines;
let wanLines: Lines;
let memberLines: Lines;
let observerLines: Lines;

beforeAll(async () => {
  for (const n of Object.values(ns)) {
    ip('netns', 'add', n);
    ip('-n', n, 'link', 'set', 'lo', 'up');
  }
  // The host: a NAT bridge with a fixed MAC (the guests' neighbour entries name it).
  ip('-n', ns.host, 'link', 'add', bridge, 'address', bridgeMac, 'type', 'bridge');
  ip('-n', ns.host, 'addr', 'add', `${gw}/24`, 'dev', bridge);
  ip('-n', ns.host, 'addr', 'add', 'fe80::1/64', 'dev', bridge, 'nodad');
  ip('-n', ns.host, 'link', 'set', bridge, 'up');
  sysctl(ns.host, 'net.ipv4.ip_forward', '1');
  for (const [key, g] of [
    ['a', guests.a],
    ['v', guests.v],
    ['o', guests.o],
  ] as const) {
    const port = nicTap(g.vm, 0);
    ip('-n', ns.host, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns[key]);
    ip('-n', ns.host, 'link', 'set', port, 'master', bridge, 'up');
    sysctl(ns[key], 'net.ipv6.conf.eth0.addr_gen_mode', '1');
    ip('-n', ns[key], 'link', 'set', 'eth0', 'address', g.mac, 'up');
    ip('-n', ns[key], 'addr', 'add', `${g.ip}/24`, 'dev', 'eth0');
    ip(
      '-n',
      ns[key],
      'addr',
      'add',
      `fe80::${key === 'a' ? 'a' : key === 'v' ? 'b' : 'c'}/64`,
      'dev',
      'eth0',
      'nodad',
    );
    ip('-n', ns[key], 'route', 'add', 'default', 'via', gw);
    // Fixed neighbours: no probe waits behind address resolution, so probes and markers keep their order.
    ip('-n', ns[key], 'neigh', 'replace', gw, 'lladdr', bridgeMac, 'dev', 'eth0', 'nud', 'permanent');
    ip('-n', ns[key], 'neigh', 'replace', 'fe80::1', 'lladdr', bridgeMac, 'dev', 'eth0', 'nud', 'permanent');
  }
  ip('-n', ns.a, 'neigh', 'replace', guests.o.ip, 'lladdr', guests.o.mac, 'dev', 'eth0', 'nud', 'permanent');
  // Outside: the underlay peers (one known, one not), the metadata server and an allowed address.
  ip('-n', ns.host, 'link', 'add', `hw${tag}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.wan);
  ip('-n', ns.host, 'addr', 'add', `${hostUnderlay}/24`, 'dev', `hw${tag}`);
  ip('-n', ns.host, 'link', 'set', `hw${tag}`, 'up');
  ip('-n', ns.wan, 'link', 'set', 'eth0', 'up');
  for (const a of [
    `${peerUnderlay}/24`,
    `${strangerUnderlay}/24`,
    `${allowedOutside}/24`,
    '169.254.169.254/32',
  ]) {
    ip('-n', ns.wan, 'addr', 'add', a, 'dev', 'eth0');
  }
  ip('-n', ns.host, 'route', 'add', '169.254.169.254/32', 'via', peerUnderlay);
  // The overlay: a VXLAN device on its bridge with one member namespace.
  ip('-n', ns.host, 'link', 'add', overlay, 'type', 'bridge');
  ip(
    '-n',
    ns.host,
    'link',
    'add',
    vx,
    'type',
    'vxlan',
    'id',
    String(vni),
    'dstport',
    '4789',
    'local',
    hostUnderlay,
    'nolearning',
  );
  ip('-n', ns.host, 'link', 'set', vx, 'master', overlay, 'up');
  ip('-n', ns.host, 'link', 'add', `hp${tag}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.p);
  ip('-n', ns.host, 'link', 'set', `hp${tag}`, 'master', overlay, 'up');
  ip('-n', ns.host, 'link', 'set', overlay, 'up');
  ip('-n', ns.p, 'link', 'set', 'eth0', 'address', overlayMember.mac, 'up');
  ip('-n', ns.p, 'addr', 'add', `${overlayMember.ip}/24`, 'dev', 'eth0');

  load(networkRulesText(nat, `hearth:net:${nat.id}:${agent}`));
  load(networkRulesText(vxlanNet, `hearth:net:${vxlanNet.id}:${agent}`));
  for (const g of Object.values(guests)) load(guardFor(g));

  [hostLines, wanLines, memberLines, observerLines] = await Promise.all([
    listen(ns.host, [
      ['0.0.0.0', agentPort],
      ['::', agentPort],
      [gw, 53],
      ['0.0.0.0', 67],
    ]),
    listen(ns.wan, [
      ['0.0.0.0', 80],
      ['0.0.0.0', 67],
    ]),
    listen(ns.p, [['0.0.0.0', 5555]]),
    listen(ns.o, [['0.0.0.0', 5555]]),
  ]);
});

afterAll(() => {
  for (const c of probeChildren) c.kill('SIGKILL');
  for (const n of Object.values(ns)) spawnSync('ip', ['netns', 'del', n]);
});

const from = (g: (typeof guests)['a'], d: Omit<Datagram, 'from'>): Datagram => ({ from: g.ip, ...d });

describe('a guest on a NAT network', () => {
  it('reaches DNS on the gateway, not the agent’s port nor any other host service, by IPv4 or IPv6 link-local', async () => {
    const got = await arrived(
      hostLines,
      ns.a,
      [
        from(guests.a, { to: gw, port: agentPort, body: 'agent-v4' }),
        { from: 'fe80::a%eth0', to: 'fe80::1%eth0', port: agentPort, body: 'agent-v6' },
      ],
      from(guests.a, { to: gw, port: 53, body: 'dns' }),
    );
    expect(got).toEqual([]);
  });

  it('cannot reach the metadata range unless its network allows it', async () => {
    const marker = (n: number) => from(guests.a, { to: peerUnderlay, port: 80, body: `outside-${n}` });
    const probe = (n: number) => from(guests.a, { to: '169.254.169.254', port: 80, body: `metadata-${n}` });
    // The outside is reachable, so the probe had a way.
    expect(await arrived(wanLines, ns.a, [probe(1)], marker(1))).toEqual([]);
    load(networkRulesText({ ...nat, allowMetadata: true }, `hearth:net:${nat.id}:${agent}`));
    try {
      expect(await arrived(wanLines, ns.a, [probe(2)], marker(2))).toEqual(['metadata-2']);
    } finally {
      load(networkRulesText(nat, `hearth:net:${nat.id}:${agent}`));
    }
  });

  it('cannot inject frames into an overlay through the VXLAN port; nor can an unknown underlay address', async () => {
    const frame = (body: string) =>
      encapsulate(vni, { mac: '02:00:00:00:66:01', ip: `10.99.${o}.66` }, overlayMember, 5555, body);
    send(ns.a, [from(guests.a, { to: gw, port: 4789, body: 'from-guest', hex: frame('from-guest') })]);
    const got = await arrived(
      memberLines,
      ns.wan,
      [
        {
          from: strangerUnderlay,
          to: hostUnderlay,
          port: 4789,
          body: 'from-stranger',
          hex: frame('from-stranger'),
        },
      ],
      { from: peerUnderlay, to: hostUnderlay, port: 4789, body: 'from-peer', hex: frame('from-peer') },
    );
    expect(got).toEqual([]);
    expect(memberLines.seen).not.toContain('from-guest');
  });
});

describe('a guest that spoofs', () => {
  it('cannot send as another VM’s address, from off its subnet, or as a DHCP server', async () => {
    ip('-n', ns.a, 'addr', 'add', `${guests.v.ip}/32`, 'dev', 'eth0');
    ip('-n', ns.a, 'addr', 'add', '192.0.2.7/32', 'dev', 'eth0');
    try {
      const to = { to: guests.o.ip, port: 5555 };
      const got = await arrived(
        observerLines,
        ns.a,
        [
          { ...to, from: guests.v.ip, body: 'as-victim' },
          { ...to, from: '192.0.2.7', body: 'off-subnet' },
          { ...to, from: guests.a.ip, fromPort: 67, body: 'dhcp-offer' },
        ],
        { ...to, from: guests.a.ip, body: 'own-address' },
      );
      expect(got).toEqual([]);
    } finally {
      ip('-n', ns.a, 'addr', 'del', `${guests.v.ip}/32`, 'dev', 'eth0');
      ip('-n', ns.a, 'addr', 'del', '192.0.2.7/32', 'dev', 'eth0');
    }
  });

  it('cannot send with another VM’s MAC', async () => {
    const to = { to: guests.o.ip, port: 5555, from: guests.a.ip };
    ip('-n', ns.a, 'link', 'set', 'eth0', 'address', guests.v.mac);
    try {
      send(ns.a, [{ ...to, body: 'victim-mac' }]);
    } finally {
      ip('-n', ns.a, 'link', 'set', 'eth0', 'address', guests.a.mac);
    }
    const got = await arrived(observerLines, ns.a, [], { ...to, body: 'own-mac' });
    expect(got).toEqual([]);
    expect(observerLines.seen).not.toContain('victim-mac');
  });

  it('cannot answer ARP for the gateway', async () => {
    const arp = await run(
      ns.o,
      ['tcpdump', '-l', '-n', '-i', 'eth0', 'arp', 'and', 'ether', 'src', guests.a.mac],
      (l) => l.includes('listening on'),
    );
    ip('-n', ns.a, 'addr', 'add', `${gw}/32`, 'dev', 'eth0');
    try {
      const arping = (mode: string, addr: string) => {
        const r = inNs(ns.a, ['busybox', 'arping', mode, '-c', '1', '-I', 'eth0', '-s', addr, addr]);
        expect(r.status).toBe(0);
      };
      arping('-U', gw);
      arping('-A', gw);
      arping('-A', guests.a.ip);
    } finally {
      ip('-n', ns.a, 'addr', 'del', `${gw}/32`, 'dev', 'eth0');
    }
    await arp.waitFor((l) => l.includes(`Reply ${guests.a.ip} is-at`));
    expect(arp.seen.filter((l) => l.includes(`${gw} is-at`) || l.includes(`tell ${gw},`))).toEqual([]);
  });
});

describe('a VM whose egress policy denies everything', () => {
  const nic: AgentNic = {
    mac: guests.a.mac,
    ip: guests.a.ip,
    prefix: 24,
    gateway: gw,
    dns: [gw],
    network: nat,
  };

  it('does not get out on UDP port 67, while DHCP by broadcast still works', async () => {
    const policy = { default: 'deny' as const, allow: [allowedOutside], deny: [] };
    load(policyText(guests.a.vm, [nic], policy, null, agent)!);
    try {
      const got = await arrived(
        wanLines,
        ns.a,
        [from(guests.a, { to: peerUnderlay, port: 67, fromPort: 68, body: 'vpn-on-67' })],
        from(guests.a, { to: allowedOutside, port: 80, body: 'allowed' }),
      );
      expect(got).toEqual([]);
      send(ns.a, [from(guests.a, { to: '255.255.255.255', port: 67, fromPort: 68, body: 'dhcp-broadcast' })]);
      await hostLines.waitFor((l) => l === 'dhcp-broadcast');
    } finally {
      inNs(ns.host, ['nft', 'delete', 'table', 'inet', policyTable(guests.a.vm)]);
    }
  });
});
