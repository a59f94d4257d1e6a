import { describe, expect, it } from 'vitest';
import { HearthError, type Host, type Network } from '@hearth/contract';
import {
  emptyNetworkForm,
  freeInterfaces,
  MODE_FIELDS,
  networkExtra,
  networkFieldsOf,
  toNetworkBody,
  validateNetwork,
  type NetworkForm,
} from './form.ts';

const form = (f: Partial<NetworkForm>): NetworkForm => ({ ...emptyNetworkForm, name: 'lan', ...f });

describe('network form', () => {
  it('opens the metadata range only when asked, and only on routed modes', () => {
    expect(toNetworkBody(form({ mode: 'nat', cidr: '10.30.0.0/24' }))).not.toHaveProperty('allowMetadata');
    expect(
      toNetworkBody(form({ mode: 'nat', cidr: '10.30.0.0/24', allowMetadata: true })).allowMetadata,
    ).toBe(true);
    // An isolated network never routes out: the box's value is not sent.
    expect(
      toNetworkBody(form({ mode: 'isolated', cidr: '10.30.0.0/24', allowMetadata: true })),
    ).not.toHaveProperty('allowMetadata');
  });

  it('sends only the non-empty inputs of the chosen mode', () => {
    // Values typed for another mode stay out of the body.
    const typed = {
      cidr: ' 10.30.0.0/24 ',
      gateway: '',
      dns: '1.1.1.1, 9.9.9.9 8.8.8.8',
      vni: '42',
      vlan: '7',
    };
    expect(toNetworkBody(form({ mode: 'nat', ...typed }))).toEqual({
      name: 'lan',
      mode: 'nat',
      cidr: '10.30.0.0/24',
      dns: ['1.1.1.1', '9.9.9.9', '8.8.8.8'],
    });
    expect(toNetworkBody(form({ mode: 'isolated', ...typed }))).toEqual({
      name: 'lan',
      mode: 'isolated',
      cidr: '10.30.0.0/24',
    });
    expect(toNetworkBody(form({ mode: 'bridged', interface: 'eth1', vlan: '7' }))).toEqual({
      name: 'lan',
      mode: 'bridged',
      interface: 'eth1',
      vlan: 7,
    });
    expect(toNetworkBody(form({ mode: 'vxlan', cidr: '10.40.0.0/24', vni: '42', port: '4790' }))).toEqual({
      name: 'lan',
      mode: 'vxlan',
      cidr: '10.40.0.0/24',
      vni: 42,
      port: 4790,
    });
    expect(MODE_FIELDS.isolated).toEqual(['cidr']);
  });

  it("checks with the contract's schema, keyed by input", () => {
    expect(validateNetwork(form({ mode: 'isolated', cidr: '10.30.0.0/24' }))).toEqual({});
    const errs = validateNetwork(
      form({ name: 'Bad Name', mode: 'nat', cidr: '10.30.0.0', gateway: '10.30.0.300', dns: '1.1.1.1,x' }),
    );
    expect(Object.keys(errs).sort()).toEqual(['cidr', 'dns', 'gateway', 'name']);
    expect(errs.cidr![0]).toMatch(/CIDR/);
    expect(validateNetwork(form({ mode: 'bridged', interface: 'eth1', vlan: '4095' })).vlan).toHaveLength(1);
    expect(validateNetwork(form({ mode: 'vxlan', cidr: '10.4.0.0/24', vni: '4x' })).vni).toEqual([
      'a whole number',
    ]);
    expect(validateNetwork(form({ mode: 'vxlan', cidr: '10.4.0.0/24', port: '70000' })).port).toHaveLength(1);
  });

  it("keys the API's refusals by input", () => {
    const overlap = new HearthError('NETWORK_CIDR_OVERLAP', 'overlaps "default"', {
      fields: { cidr: ['overlaps default'] },
    });
    expect(networkFieldsOf(overlap)).toEqual({ cidr: ['overlaps default'] });
    expect(networkFieldsOf(new HearthError('NETWORK_NAME_TAKEN', '"lan" exists.'))).toEqual({
      name: ['"lan" exists.'],
    });
    expect(networkFieldsOf(new HearthError('NETWORK_FEATURE_MISSING', 'no host'))).toEqual({});
    expect(networkFieldsOf(new Error('offline'))).toEqual({});
  });

  it('names free interfaces of ready hosts and the extra identifiers of a network', () => {
    const host = (state: Host['state'], interfaces: { name: string; addresses: string[] }[]) =>
      ({ state, inventory: { interfaces } }) as Host;
    expect(
      freeInterfaces([
        host('ready', [
          { name: 'eth1', addresses: [] },
          { name: 'eth0', addresses: ['192.168.1.2/24'] },
        ]),
        host('ready', [{ name: 'eth1', addresses: [] }]),
        host('offline', [{ name: 'eth9', addresses: [] }]),
      ]),
    ).toEqual(['eth1']);
    const n = { interface: null, vlan: null, vni: null, port: null } as Network;
    expect(networkExtra(n)).toBe('—');
    expect(networkExtra({ ...n, interface: 'eth1', vlan: 10 })).toBe('interface eth1, VLAN 10');
    expect(networkExtra({ ...n, vni: 42, port: 4789 })).toBe('VNI 42, UDP 4789');
  });
});
