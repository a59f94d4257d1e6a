import { describe, expect, it } from 'vitest';
import { bridgeName, idHash } from './host-names.ts';
import { networkHostNeeds } from './network.ts';

describe('host object names', () => {
  it('name a network bridge the same way in every process, within the 15-character limit', () => {
    // Pinned: networks recorded by an older manager keep the bridge name an agent derives now.
    expect(bridgeName('net_01ARZ3NDEKTSV4RRFFQ69G5FAV')).toBe('hbr1ad56144f9');
    expect(bridgeName('net_01ARZ3NDEKTSV4RRFFQ69G5FAV').length).toBeLessThanOrEqual(15);
    expect(idHash('net_01ARZ3NDEKTSV4RRFFQ69G5FAV', 6)).toBe('1ad561');
  });
});

describe('networkHostNeeds', () => {
  it('asks every host for a bridge, NAT for nat, VLAN support for a VLAN and an underlay for VXLAN', () => {
    expect(networkHostNeeds({ mode: 'isolated', vlan: null })).toEqual({
      features: ['net-bridge'],
      underlay: false,
    });
    expect(networkHostNeeds({ mode: 'nat', vlan: null }).features).toEqual(['net-bridge', 'net-nat']);
    expect(networkHostNeeds({ mode: 'bridged', vlan: 7 }).features).toEqual([
      'net-bridge',
      'net-8021q',
      'net-bridge-vlan-filtering',
    ]);
    expect(networkHostNeeds({ mode: 'vxlan', vlan: null })).toEqual({
      features: ['net-bridge', 'net-vxlan'],
      underlay: true,
    });
  });
});
