import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentNic, AgentVmSpec } from '@hearth/contract';
import { nicArgs, nicsOf, nicTap, policyTable, policyText, vmGuardText, vmMark } from './vm-net.ts';
import { guardTable } from './net/tap-guard.ts';
import { checkFeatures, requiredFeatures, vlanPortCommands } from './networks.ts';

const net = (over: Partial<AgentNic['network']> = {}): AgentNic['network'] => ({
  id: 'net_1',
  name: 'blue',
  mode: 'nat',
  bridge: 'hbrtest',
  cidr: '10.60.1.0/24',
  gateway: '10.60.1.1',
  dnsForwarder: true,
  interface: null,
  vlan: null,
  vxlan: null,
  ...over,
});
const nic = (over: Partial<AgentNic> = {}): AgentNic => ({
  mac: '02:48:0a:3c:01:02',
  ip: '10.60.1.2',
  prefix: 24,
  gateway: '10.60.1.1',
  dns: ['10.60.1.1'],
  network: net(),
  ...over,
});

describe('guest NIC arguments', () => {
  it('keeps hearth.ip= for one static NIC (every image understands it)', () => {
    expect(nicArgs([nic()])).toEqual(['hearth.ip=10.60.1.2/24,10.60.1.1,10.60.1.1']);
  });
  it('names NICs by MAC otherwise, DHCP ones included', () => {
    const second = nic({ mac: '02:49:aa:bb:cc:dd', ip: null, prefix: null, gateway: null, dns: [] });
    expect(nicArgs([nic(), second])).toEqual([
      'hearth.nic=02:48:0a:3c:01:02,10.60.1.2/24,10.60.1.1,10.60.1.1',
      'hearth.nic=02:49:aa:bb:cc:dd,dhcp',
    ]);
    expect(nicArgs([second])).toEqual(['hearth.nic=02:49:aa:bb:cc:dd,dhcp']);
    expect(nicArgs([])).toEqual([]);
  });
  it('turns the single-NIC form of older managers into one NAT NIC', () => {
    const spec = {
      id: 'vm_1',
      network: {
        bridge: 'hearth0',
        mac: '02:48:0a:00:00:02',
        ip: '10.0.0.2',
        prefix: 24,
        gateway: '10.0.0.1',
        dns: '10.0.0.1',
      },
      nics: [],
    } as unknown as AgentVmSpec;
    const [n] = nicsOf(spec);
    expect(n).toMatchObject({
      ip: '10.0.0.2',
      dns: ['10.0.0.1'],
      network: { bridge: 'hearth0', mode: 'nat' },
    });
    expect(nicTap('vm_1', 0)).toMatch(/^htap[0-9a-f]{10}$/);
    expect(nicTap('vm_1', 1)).not.toBe(nicTap('vm_1', 0));
  });
});

describe('host features a network needs', () => {
  it('names what is missing', () => {
    expect(requiredFeatures({ mode: 'bridged', vlan: 5 })).toEqual([
      'net-bridge',
      'net-8021q',
      'net-bridge-vlan-filtering',
    ]);
    const have = new Set(['net-bridge', 'net-nat', 'net-vxlan']);
    expect(() => checkFeatures(net({ mode: 'bridged', vlan: 5, interface: 'eth1' }), have)).toThrow(
      /lacks 802\.1Q VLAN devices and bridge VLAN filtering/,
    );
    expect(() => checkFeatures(net({ mode: 'vxlan' }), have)).not.toThrow();
  });
  it('tags the uplink and puts each TAP untagged on the VLAN (run only where the kernel has VLANs)', () => {
    expect(vlanPortCommands('hbr1', 'eth1', 42, true)).toEqual([
      ['bridge', 'vlan', 'add', 'dev', 'eth1', 'vid', '42'],
    ]);
    expect(vlanPortCommands('hbr1', 'htap1', 42, false)).toEqual([
      ['bridge', 'vlan', 'del', 'dev', 'htap1', 'vid', '1'],
      ['bridge', 'vlan', 'add', 'dev', 'htap1', 'vid', '42', 'pvid', 'untagged'],
    ]);
  });
});

// The policy text is loaded by the real nft into a throwaway namespace, on devices named like
// the VM's TAPs, so every combination is known to be accepted by the kernel.
describe('egress policy and rate limit tables', () => {
  const ns = `hpol${randomBytes(3).toString('hex')}`;
  const vmId = `vm_pol${randomBytes(3).toString('hex')}`;
  const inNs = (...a: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...a], { encoding: 'utf8' });
  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', ns]);
    for (const i of [0, 1]) {
      execFileSync('ip', ['-n', ns, 'link', 'add', nicTap(vmId, i), 'type', 'veth', 'peer', 'name', `p${i}`]);
    }
  });
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', ns]);
  });

  it('has no table when nothing is limited', () => {
    expect(policyText(vmId, [nic()], null, null, 'a')).toBeNull();
    expect(policyText(vmId, [nic()], { default: 'allow', allow: [], deny: [] }, null, 'a')).toBeNull();
  });

  it('loads deny-by-default with lists and a rate limit on two NICs, labelled with the agent', () => {
    const nics = [nic(), nic({ mac: '02:00:00:00:00:09', network: net({ cidr: '10.61.0.0/24' }) })];
    const text = policyText(
      vmId,
      nics,
      { default: 'deny', allow: ['192.0.2.0/24'], deny: ['192.0.2.9'] },
      8,
      'agent-x',
    )!;
    execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: text });
    const listed = inNs('nft', 'list', 'table', 'inet', policyTable(vmId));
    expect(listed).toContain(`comment "hearth:vm:${vmId}:agent-x"`);
    for (const i of [0, 1]) expect(listed).toContain(`device "${nicTap(vmId, i)}"`);
    // Ingress marks the VM's packets and limits their rate; the stateful chains judge them.
    const nic0 = listed.slice(listed.indexOf('chain nic0'), listed.indexOf('chain nic1'));
    expect(nic0).toMatch(/limit rate over 977 kbytes\/second/);
    expect(nic0).toContain(`meta mark set ${vmMark(vmId)}`);
    for (const name of ['through', 'tohost']) {
      const chain = listed.slice(listed.indexOf(`chain ${name}`));
      expect(chain).toMatch(/ip daddr \{ 10\.60\.1\.0\/24, 10\.61\.0\.0\/24 \} accept/);
      // Replies first; then the deny list before the allow list, both before the default.
      const order = [
        `meta mark != ${vmMark(vmId)} return`,
        'ct state established,related accept',
        '192.0.2.9 drop',
        '192.0.2.0/24 accept',
        'meta nfproto ipv6 drop',
      ];
      const at = [...order.map((r) => chain.indexOf(r)), chain.search(/\n\s+drop\n/)];
      expect(at.every((x) => x >= 0)).toBe(true);
      expect([...at].sort((x, y) => x - y)).toEqual(at);
    }
    // Re-applying replaces it atomically.
    execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], {
      input: policyText(
        vmId,
        nics,
        { default: 'allow', allow: [], deny: ['198.51.100.0/24'] },
        null,
        'agent-x',
      )!,
    });
    const again = inNs('nft', 'list', 'table', 'inet', policyTable(vmId));
    expect(again).not.toContain('limit rate');
    expect(again).not.toContain('192.0.2.9');
    expect(again).toContain('198.51.100.0/24 drop');
  });

  it('with allowed domains: a set the forwarder fills, refreshed by use, and DNS only to the forwarder', () => {
    const text = policyText(
      vmId,
      [nic()],
      { default: 'deny', allow: ['192.0.2.0/24'], deny: [], domains: ['example.com', '*.example.org'] },
      null,
      'agent-x',
    )!;
    const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: text, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const listed = inNs('nft', 'list', 'table', 'inet', policyTable(vmId));
    expect(listed).toMatch(/set dns_allow \{[^}]*flags dynamic,timeout[^}]*timeout 1h/);
    // The forwarder's `add element` as dnsmasq issues it.
    inNs('nft', 'add', 'element', 'inet', policyTable(vmId), 'dns_allow', '{ 203.0.113.7 }');
    expect(inNs('nft', 'list', 'set', 'inet', policyTable(vmId), 'dns_allow')).toContain('203.0.113.7');
    for (const name of ['through', 'tohost']) {
      const chain = listed.slice(listed.indexOf(`chain ${name}`));
      const order = [
        'ct state established,related accept',
        'ip daddr != 10.60.1.1 meta l4proto { tcp, udp } th dport { 53, 853 } drop',
        'ip daddr { 10.60.1.0/24 } accept',
        '192.0.2.0/24 accept',
        'ip daddr @dns_allow update @dns_allow { ip daddr } accept',
        'meta nfproto ipv6 drop',
      ];
      const at = order.map((x) => chain.indexOf(x));
      expect(
        at.every((x) => x >= 0),
        JSON.stringify([at, chain]),
      ).toBe(true);
      expect([...at].sort((x, y) => x - y)).toEqual(at);
    }
    // A replaced table keeps what the forwarder added.
    const again = policyText(
      vmId,
      [nic()],
      { default: 'deny', allow: [], deny: [], domains: ['example.com'] },
      null,
      'agent-x',
      ['203.0.113.7'],
    )!;
    expect(
      spawnSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: again, encoding: 'utf8' }).stderr,
    ).toBe('');
    expect(inNs('nft', 'list', 'set', 'inet', policyTable(vmId), 'dns_allow')).toContain('203.0.113.7');
    // Without domains there is neither the set nor the DNS rule.
    const plain = policyText(vmId, [nic()], { default: 'deny', allow: [], deny: [] }, null, 'agent-x')!;
    expect(plain).not.toContain('dns_allow');
    expect(plain).not.toContain('dport { 53, 853 }');
  });

  it('loads the anti-spoofing guard with the policy in one run: a static NIC pinned to its address, a DHCP NIC to its MAC', () => {
    const dhcp = nic({ mac: '02:49:aa:bb:cc:dd', ip: null, prefix: null, gateway: null, dns: [] });
    const spec = { id: vmId, nics: [nic(), dhcp] } as unknown as AgentVmSpec;
    const text = vmGuardText(spec, 'agent-x') + policyText(vmId, [nic(), dhcp], null, 5, 'agent-x')!;
    const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: text, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const listed = inNs('nft', 'list', 'table', 'netdev', guardTable(vmId));
    expect(listed).toContain(`comment "hearth:vm:${vmId}:agent-x"`);
    const [nic0, nic1] = [
      listed.slice(listed.indexOf('chain nic0'), listed.indexOf('chain nic1')),
      listed.slice(listed.indexOf('chain nic1')),
    ];
    expect(nic0).toContain(`device "${nicTap(vmId, 0)}"`);
    expect(nic0).toContain('ip saddr != 10.60.1.2 drop');
    expect(nic1).toContain(`device "${nicTap(vmId, 1)}"`);
    expect(nic1).toContain('ether saddr != 02:49:aa:bb:cc:dd drop');
    expect(nic1).not.toMatch(/ip saddr != /);
  });

  it('loads every rate: odd, small and large', () => {
    for (const mbit of [1, 7, 9, 33, 99, 1001, 100_000]) {
      const text = policyText(vmId, [nic()], null, mbit, 'agent-x')!;
      const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: text, encoding: 'utf8' });
      expect([mbit, r.status, r.stderr]).toEqual([mbit, 0, '']);
    }
  });
});
