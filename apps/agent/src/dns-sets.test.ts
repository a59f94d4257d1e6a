import { describe, expect, it } from 'vitest';
import type { AgentNic, AgentVmSpec, EgressPolicy } from '@hearth/contract';
import { nftsetArgs } from './dns-sets.ts';
import { policyTable } from './vm-net.ts';

const nic = (bridge: string, dnsForwarder = true): AgentNic => ({
  mac: '02:48:0a:3c:01:02',
  ip: '10.60.1.2',
  prefix: 24,
  gateway: '10.60.1.1',
  dns: ['10.60.1.1'],
  network: {
    id: `net_${bridge}`,
    name: bridge,
    mode: 'nat',
    bridge,
    cidr: '10.60.1.0/24',
    gateway: '10.60.1.1',
    dnsForwarder,
    interface: null,
    vlan: null,
    vxlan: null,
    allowMetadata: false,
  },
});
const vm = (id: string, egress: EgressPolicy | null, bridges = ['hbr1'], running = true) => ({
  spec: { id, nics: bridges.map((b) => nic(b)), egress } as unknown as AgentVmSpec,
  running,
});
const deny = (domains: string[]): EgressPolicy => ({ default: 'deny', allow: [], deny: [], domains });
const set = (id: string) => `4#inet#${policyTable(id)}#dns_allow`;

describe('domain sets of the DNS forwarders', () => {
  it("puts each running VM's names on the forwarders of its networks, wildcards as their parent", () => {
    const args = nftsetArgs([
      vm('vm_a', deny(['example.com', '*.wild.test']), ['hbr1', 'hbr2']),
      vm('vm_b', deny(['example.com'])),
    ]);
    const ttl = ['--max-ttl=300', '--max-cache-ttl=300'];
    expect(args.get('hbr1')).toEqual([
      `--nftset=/example.com/${[set('vm_a'), set('vm_b')].sort().join(',')}`,
      `--nftset=/wild.test/${set('vm_a')}`,
      ...ttl,
    ]);
    expect(args.get('hbr2')).toEqual([
      `--nftset=/example.com/${set('vm_a')}`,
      `--nftset=/wild.test/${set('vm_a')}`,
      ...ttl,
    ]);
  });

  it('fills the set of a VM allowed a parent name too (dnsmasq uses only the most specific match)', () => {
    const args = nftsetArgs([vm('vm_a', deny(['example.com'])), vm('vm_b', deny(['api.example.com']))]);
    expect(args.get('hbr1')).toContain(
      `--nftset=/api.example.com/${[set('vm_a'), set('vm_b')].sort().join(',')}`,
    );
    expect(args.get('hbr1')).toContain(`--nftset=/example.com/${set('vm_a')}`);
  });

  it('gives no options for stopped VMs, open policies, or networks without a forwarder', () => {
    const args = nftsetArgs([
      vm('vm_a', deny(['example.com']), ['hbr1'], false),
      vm('vm_b', { default: 'allow', allow: [], deny: [] }),
      vm('vm_c', null),
      {
        spec: { id: 'vm_d', nics: [nic('hbr3', false)], egress: deny(['x.test']) } as unknown as AgentVmSpec,
        running: true,
      },
    ]);
    expect(args.get('hbr1')).toEqual([]);
    expect(args.has('hbr3')).toBe(false);
  });
});
