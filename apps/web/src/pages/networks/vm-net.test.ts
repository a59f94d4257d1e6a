import { describe, expect, it } from 'vitest';
import type { Network } from '@hearth/contract';
import {
  checkNics,
  checkPolicy,
  emptyPolicy,
  isOpenEgress,
  nicIpProblem,
  nicRowsText,
  pinNicErrors,
  toEgress,
  toPorts,
} from './vm-net.ts';

const net = (over: Partial<Network>): Network => ({
  id: `net_${over.name ?? 'x'}`,
  name: 'x',
  mode: 'nat',
  cidr: '10.50.0.0/24',
  gateway: '10.50.0.1',
  dns: [],
  interface: null,
  vlan: null,
  vni: null,
  port: null,
  bridge: 'hbr0',
  isDefault: false,
  allowMetadata: false,
  requires: [],
  vmCount: 0,
  createdAt: '2025-01-01T00:00:00.000Z',
  ...over,
});

const NETS = [
  net({ name: 'default', isDefault: true }),
  net({ name: 'iso', mode: 'isolated', cidr: '10.60.0.0/24', gateway: null }),
  net({ name: 'lan', mode: 'bridged', cidr: null, gateway: null, interface: 'eth1' }),
];

describe('VM network inputs', () => {
  it('checks a fixed address against its network: format, subnet, edges, gateway, DHCP networks', () => {
    expect(nicIpProblem('10.60.0.9', NETS[1])).toBeNull();
    expect(nicIpProblem('10.60.0', NETS[1])).toMatch(/IPv4 address/);
    expect(nicIpProblem('10.61.0.9', NETS[1])).toBe("not inside iso's subnet 10.60.0.0/24");
    expect(nicIpProblem('10.60.0.0', NETS[1])).toMatch(/network or broadcast/);
    expect(nicIpProblem('10.60.0.255', NETS[1])).toMatch(/network or broadcast/);
    expect(nicIpProblem('10.50.0.1', NETS[0])).toBe("the gateway's address on default");
    expect(nicIpProblem('192.168.1.5', NETS[2])).toMatch(/no subnet: .*DHCP/);
    // Networks not listed yet: only the format is known.
    expect(nicIpProblem('172.16.0.5', undefined)).toBeNull();
  });

  it('checks NICs: at least one, at most four, each network once, a network chosen', () => {
    expect(checkNics([{ network: 'default', ip: '' }], NETS)).toEqual({});
    expect(checkNics([], NETS)).toEqual({ networks: ['at least one NIC'] });
    const five = Array.from({ length: 5 }, (_, i) => ({ network: `n${i}`, ip: '' }));
    expect(checkNics(five, NETS).networks).toEqual(['at most 4 NICs']);
    expect(
      checkNics(
        [
          { network: 'iso', ip: '' },
          { network: 'iso', ip: '10.70.0.1' },
          { network: '', ip: '' },
        ],
        NETS,
      ),
    ).toEqual({
      networks: ['iso is chosen twice: each network at most once'],
      'networks.1': ["not inside iso's subnet 10.60.0.0/24"],
      'networks.2': ['choose a network'],
    });
  });

  it('puts a refused address next to the NIC that asked for it', () => {
    const nics = [
      { network: 'default', ip: '' },
      { network: 'iso', ip: '10.60.0.9' },
    ];
    expect(pinNicErrors({ networks: ['10.60.0.9 is taken', 'something else'] }, nics)).toEqual({
      networks: ['something else'],
      'networks.1': ['10.60.0.9 is taken'],
    });
    expect(pinNicErrors({ networks: ['10.60.0.9 is taken'], name: ['x'] }, nics)).toEqual({
      name: ['x'],
      'networks.1': ['10.60.0.9 is taken'],
    });
    expect(nicRowsText(nics)).toBe('default, iso (10.60.0.9)');
  });

  it('reads ports, egress lists and bandwidth, with plain messages per row and list', () => {
    const p = {
      ports: [
        { host: '8080', guest: '80', protocol: 'tcp' as const },
        { host: '0', guest: 'x', protocol: 'udp' as const },
      ],
      egressDefault: 'deny' as const,
      egressAllow: '10.0.0.0/8, 1.2.3.4\n',
      egressDeny: '10.9.0.0/33 nope',
      egressDomains: 'Example.com\n*.b.com, bad_name',
      bandwidthMbit: '2.5',
    };
    expect(toPorts(p.ports.slice(0, 1))).toEqual([{ host: 8080, guest: 80, protocol: 'tcp' }]);
    expect(toPorts([{ host: '', guest: ' 22 ', protocol: 'tcp' }])).toEqual([
      { host: undefined, guest: 22, protocol: 'tcp' },
    ]);
    expect(toEgress(p)).toEqual({
      default: 'deny',
      allow: ['10.0.0.0/8', '1.2.3.4'],
      deny: ['10.9.0.0/33', 'nope'],
      domains: ['example.com', '*.b.com', 'bad_name'],
    });
    expect(checkPolicy(p)).toEqual({
      'ports.1': ['host port: a whole number from 1 to 65535', 'guest port: a whole number from 1 to 65535'],
      'egress.deny': [
        '"10.9.0.0/33" is not an IPv4 address or CIDR such as 10.0.0.0/8',
        '"nope" is not an IPv4 address or CIDR such as 10.0.0.0/8',
      ],
      'egress.domains': [
        '"bad_name" is not a domain name such as example.com, or *.example.com for the names under it',
      ],
      bandwidthMbit: ['a whole number of Mbit/s from 1 to 100000'],
    });
    expect(checkPolicy(p, { ports: false })).not.toHaveProperty('ports.1');
    expect(checkPolicy(emptyPolicy)).toEqual({});
    expect(isOpenEgress(toEgress(emptyPolicy))).toBe(true);
    expect(isOpenEgress(toEgress({ ...emptyPolicy, egressDeny: '1.2.3.4' }))).toBe(false);
    expect(isOpenEgress(toEgress({ ...emptyPolicy, egressDomains: 'a.com' }))).toBe(false);
    // A domain list under default allow would change nothing: the form says so before the API does.
    expect(checkPolicy({ ...emptyPolicy, egressDomains: 'a.com' })).toEqual({
      'egress.domains': [
        'allowed domains need the default "Deny everything not allowed" (the rest is allowed anyway)',
      ],
    });
  });
});
