import { expect, it } from 'vitest';
import type { HostInventory } from '@hearth/contract';
import { describeOnBackends, useApiPlatform } from '../../../test/helpers/api-harness.ts';
import { fakeInventory } from '../../../test/helpers/fake-host.ts';

const feature = (name: string, ok: boolean) => ({ name, ok, detail: ok ? 'yes' : 'not supported' });
const inventory = (name: string, vxlan: boolean): HostInventory => ({
  ...fakeInventory,
  checks: [
    feature('net-bridge', true),
    feature('net-nat', true),
    feature('net-vxlan', vxlan),
    feature('net-8021q', false),
    feature('net-bridge-vlan-filtering', false),
  ],
  interfaces: [
    { name: 'eth1', addresses: [], master: null },
    { name: 'eth0', addresses: ['192.0.2.10/24'], master: null },
    { name: 'eth2', addresses: [], master: 'br0' },
  ],
  underlay: vxlan ? `192.0.2.${name.length}` : null,
});

// Networks through the API, no VM booted: validation against what hosts report, IPAM across
// networks, leases, placement by network needs, and deletion rules, on both databases.
describeOnBackends('network API', (db) => {
  const api = useApiPlatform({ db, host: 'plain-host', inventory: inventory('plain-host', false) });
  const inject = (method: string, url: string, payload?: unknown) => api.inject({ method, url, payload });
  const register = (name: string, vxlan: boolean) =>
    api.p.manager.app.inject({
      method: 'POST',
      url: '/v1/hosts/register',
      headers: { authorization: `Bearer ${api.p.manager.joinToken}` },
      payload: {
        name,
        url: 'http://127.0.0.1:9',
        callbackToken: 'x'.repeat(32),
        inventory: inventory(name, vxlan),
      },
    });

  it('has the default NAT network from the first start', async () => {
    const r = await inject('GET', '/v1/networks/default');
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({
      name: 'default',
      mode: 'nat',
      cidr: api.p.net.cidr,
      bridge: api.p.net.bridge,
      isDefault: true,
    });
  });

  it('keeps cloud metadata blocked unless a network opts in', async () => {
    expect((await inject('GET', '/v1/networks/default')).json()).toMatchObject({ allowMetadata: false });
    const on = await inject('POST', '/v1/networks', {
      name: 'meta-on',
      cidr: '10.62.1.0/24',
      allowMetadata: true,
    });
    expect(on.statusCode).toBe(201);
    expect((await inject('GET', '/v1/networks/meta-on')).json()).toMatchObject({ allowMetadata: true });
    const off = await inject('POST', '/v1/networks', { name: 'meta-off', cidr: '10.62.2.0/24' });
    expect(off.json()).toMatchObject({ allowMetadata: false });
    const bad = await inject('POST', '/v1/networks', {
      name: 'meta-bad',
      cidr: '10.62.3.0/24',
      allowMetadata: 'yes',
    });
    expect(bad.statusCode).toBe(400);
    expect((await inject('GET', '/v1/networks/meta-bad')).statusCode).toBe(404);
    for (const n of ['meta-on', 'meta-off'])
      expect((await inject('DELETE', `/v1/networks/${n}`)).statusCode).toBe(200);
  });

  it('creates networks and refuses bad ones with their codes', async () => {
    const ok = await inject('POST', '/v1/networks', { name: 'blue', cidr: '10.60.1.0/24' });
    expect(ok.statusCode).toBe(201);
    expect(ok.json()).toMatchObject({
      mode: 'nat',
      gateway: '10.60.1.1',
      dns: ['10.60.1.1'],
      requires: ['net-nat'],
    });
    const cases: [Record<string, unknown>, number, string][] = [
      [{ name: 'b2', cidr: '10.60.1.128/25' }, 409, 'NETWORK_CIDR_OVERLAP'],
      [{ name: 'b3', cidr: api.p.net.cidr }, 409, 'NETWORK_CIDR_OVERLAP'],
      [{ name: 'b4', cidr: '10.60.2.0/30' }, 422, 'NETWORK_CIDR_TOO_SMALL'],
      [{ name: 'blue', cidr: '10.60.3.0/24' }, 409, 'NETWORK_NAME_TAKEN'],
      [{ name: 'b5', cidr: '10.60.4.0/24', gateway: '10.61.0.1' }, 422, 'NETWORK_INVALID'],
      [{ name: 'b6', mode: 'isolated' }, 422, 'NETWORK_INVALID'],
      [{ name: 'b7', mode: 'bridged' }, 422, 'NETWORK_INVALID'],
      [{ name: 'b8', mode: 'bridged', interface: 'nosuch' }, 422, 'NETWORK_INTERFACE_MISSING'],
      [{ name: 'b9', mode: 'bridged', interface: 'eth0' }, 409, 'NETWORK_INTERFACE_BUSY'],
      [{ name: 'b9b', mode: 'bridged', interface: 'eth2' }, 409, 'NETWORK_INTERFACE_BUSY'],
      [{ name: 'b10', mode: 'bridged', interface: 'eth1', vlan: 0 }, 400, 'VALIDATION_FAILED'],
      [{ name: 'b11', mode: 'bridged', interface: 'eth1', vlan: 4095 }, 400, 'VALIDATION_FAILED'],
      [{ name: 'b12', mode: 'bridged', interface: 'eth1', vlan: 10 }, 422, 'NETWORK_FEATURE_MISSING'],
      [{ name: 'b13', mode: 'nat', cidr: '10.60.5.0/24', vlan: 10 }, 422, 'NETWORK_INVALID'],
      [{ name: 'b14', mode: 'vxlan', vni: 7, cidr: '10.60.6.0/24' }, 422, 'NETWORK_FEATURE_MISSING'],
      [{ name: 'b15', cidr: '10.60.7.0/24', vni: 7 }, 422, 'NETWORK_INVALID'],
      [{ name: 'B16', cidr: '10.60.8.0/24' }, 400, 'VALIDATION_FAILED'],
      [{ name: 'b17', cidr: '10.60.9.0' }, 400, 'VALIDATION_FAILED'],
    ];
    for (const [body, status, code] of cases) {
      const r = await inject('POST', '/v1/networks', body);
      expect([body, r.statusCode, r.json().error?.code]).toEqual([body, status, code]);
      expect(r.json().error.hint).toBeTruthy();
    }
    const vlan = await inject('POST', '/v1/networks', {
      name: 'v',
      mode: 'bridged',
      interface: 'eth1',
      vlan: 10,
    });
    expect(vlan.json().error.message).toMatch(/802\.1Q VLAN devices and bridge VLAN filtering/);
    const names = (await inject('GET', '/v1/networks')).json().items.map((n: { name: string }) => n.name);
    expect(names.sort()).toEqual(['blue', 'default']);
  });

  it('VXLAN networks need a host with VXLAN and an underlay address; VNIs are unique', async () => {
    expect((await register('vx-host', true)).statusCode).toBe(200);
    const a = await inject('POST', '/v1/networks', {
      name: 'over',
      mode: 'vxlan',
      vni: 7,
      cidr: '10.62.0.0/24',
    });
    expect(a.statusCode).toBe(201);
    expect(a.json()).toMatchObject({ port: 4789, gateway: null, requires: ['net-vxlan'] });
    const clash = await inject('POST', '/v1/networks', {
      name: 'over2',
      mode: 'vxlan',
      vni: 7,
      cidr: '10.62.1.0/24',
    });
    expect(clash.json().error.code).toBe('NETWORK_VNI_TAKEN');
    // Placement: only the host with VXLAN can take a VM on it.
    const vm = await inject('POST', '/v1/vms', { name: 'vx-vm', network: 'over', start: false });
    expect(vm.statusCode).toBe(201);
    const hosts = (await inject('GET', '/v1/hosts')).json().items as { id: string; name: string }[];
    expect(vm.json().host).toBe(hosts.find((h) => h.name === 'vx-host')!.id);
    const pinned = await inject('POST', '/v1/vms', {
      name: 'vx-vm2',
      network: 'over',
      start: false,
      host: 'plain-host',
    });
    expect(pinned.statusCode).toBe(422);
    expect(pinned.json().error).toMatchObject({ code: 'NETWORK_FEATURE_MISSING' });
    expect(pinned.json().error.message).toMatch(/plain-host lacks net-vxlan, underlay/);
  });

  it('assigns addresses per network, never twice, and lists them as leases', async () => {
    const one = await inject('POST', '/v1/vms', {
      name: 'two-nics',
      networks: ['default', { network: 'blue', ip: '10.60.1.50' }],
      start: false,
    });
    expect(one.statusCode).toBe(201);
    const nics = one.json().networks as { networkName: string; ip: string; mac: string }[];
    expect(nics.map((n) => n.networkName)).toEqual(['default', 'blue']);
    expect(nics[1]!.ip).toBe('10.60.1.50');
    expect(one.json().ip).toBe(nics[0]!.ip);
    expect(new Set(nics.map((n) => n.mac)).size).toBe(2);
    const again = await inject('POST', '/v1/vms', {
      name: 'same-ip',
      networks: [{ network: 'blue', ip: '10.60.1.50' }],
      start: false,
    });
    expect(again.json().error.code).toBe('NETWORK_IP_UNAVAILABLE');
    const outside = await inject('POST', '/v1/vms', {
      name: 'outside',
      networks: [{ network: 'blue', ip: '10.70.0.5' }],
      start: false,
    });
    expect(outside.json().error.code).toBe('NETWORK_IP_UNAVAILABLE');
    for (const edge of ['10.60.1.0', '10.60.1.255']) {
      const r = await inject('POST', '/v1/vms', {
        name: 'edge',
        networks: [{ network: 'blue', ip: edge }],
        start: false,
      });
      expect([edge, r.json().error?.code]).toEqual([edge, 'NETWORK_IP_UNAVAILABLE']);
    }
    const gw = await inject('POST', '/v1/vms', {
      name: 'gw',
      networks: [{ network: 'blue', ip: '10.60.1.1' }],
      start: false,
    });
    expect(gw.json().error.code).toBe('NETWORK_IP_UNAVAILABLE');
    const both = await inject('POST', '/v1/vms', {
      name: 'both',
      network: 'blue',
      networks: ['blue'],
      start: false,
    });
    expect(both.statusCode).toBe(400);
    const twice = await inject('POST', '/v1/vms', {
      name: 'twice',
      networks: ['blue', 'blue'],
      start: false,
    });
    expect(twice.statusCode).toBe(400);
    const next = await inject('POST', '/v1/vms', { name: 'next', network: 'blue', start: false });
    expect(next.json().networks[0].ip).toBe('10.60.1.2');
    const leases = (await inject('GET', '/v1/networks/blue/leases')).json().items;
    expect(leases.map((l: { vmName: string; ip: string }) => [l.vmName, l.ip]).sort()).toEqual([
      ['next', '10.60.1.2'],
      ['two-nics', '10.60.1.50'],
    ]);
    const n = await api.p.manager.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM vms WHERE name IN ('same-ip','outside','gw','both','twice')",
    );
    expect(n[0]!.n).toBe(0);
    // Removing a VM's record (what a completed delete does) releases its addresses.
    await api.p.manager.stores.vms.remove(next.json().id);
    const after = (await inject('GET', '/v1/networks/blue/leases')).json().items;
    expect(after.map((l: { vmName: string }) => l.vmName)).toEqual(['two-nics']);
  });

  it('templates carry networks, egress and bandwidth; each instance gets its own addresses', async () => {
    const t = await inject('POST', '/v1/templates', {
      name: 'netted',
      spec: { networks: ['default', 'blue'], egress: { default: 'deny' }, bandwidthMbit: 5 },
    });
    expect(t.statusCode).toBe(201);
    const made = await inject('POST', '/v1/templates/netted/instantiate', { count: 2 });
    expect(made.statusCode).toBe(201);
    const vms = made.json().items as {
      networks: { networkName: string; ip: string }[];
      egress: unknown;
      bandwidthMbit: number;
    }[];
    expect(vms.map((v) => v.networks.map((n) => n.networkName))).toEqual([
      ['default', 'blue'],
      ['default', 'blue'],
    ]);
    expect(new Set(vms.map((v) => v.networks[1]!.ip)).size).toBe(2);
    expect(vms[0]).toMatchObject({ egress: { default: 'deny' }, bandwidthMbit: 5 });
    for (const v of made.json().items as { id: string }[]) await api.p.manager.stores.vms.remove(v.id);
  });

  it('refuses to delete a network in use or the default one, then deletes', async () => {
    const busy = await inject('DELETE', '/v1/networks/blue');
    expect(busy.statusCode).toBe(409);
    expect(busy.json().error).toMatchObject({ code: 'NETWORK_IN_USE', detail: { vms: ['two-nics'] } });
    expect(busy.json().error.hint).toBeTruthy();
    expect((await inject('DELETE', '/v1/networks/default')).json().error.code).toBe('NETWORK_BUILTIN');
    const vm = (await inject('GET', '/v1/vms/two-nics')).json();
    await api.p.manager.stores.vms.remove(vm.id);
    const gone = await inject('DELETE', '/v1/networks/blue');
    expect(gone.statusCode).toBe(200);
    expect((await inject('GET', '/v1/networks/blue')).statusCode).toBe(404);
  });

  it('takes egress policy and bandwidth on create and patch, validated', async () => {
    const vm = await inject('POST', '/v1/vms', {
      name: 'egress',
      start: false,
      egress: { default: 'deny', allow: ['10.0.0.0/8', '192.0.2.7'] },
      bandwidthMbit: 10,
    });
    expect(vm.json()).toMatchObject({
      egress: { default: 'deny', allow: ['10.0.0.0/8', '192.0.2.7'], deny: [] },
      bandwidthMbit: 10,
    });
    const bad = await inject('PATCH', '/v1/vms/egress', { egress: { default: 'maybe' } });
    expect(bad.statusCode).toBe(400);
    const badCidr = await inject('PATCH', '/v1/vms/egress', { egress: { deny: ['10.0.0.0/33'] } });
    expect(badCidr.statusCode).toBe(400);
    // A rename that is refused changes nothing else either.
    await inject('POST', '/v1/vms', { name: 'taken-name', start: false });
    const refused = await inject('PATCH', '/v1/vms/egress', { name: 'taken-name', bandwidthMbit: 99 });
    expect(refused.json().error.code).toBe('VM_NAME_TAKEN');
    expect((await inject('GET', '/v1/vms/egress')).json().bandwidthMbit).toBe(10);
    const patched = await inject('PATCH', '/v1/vms/egress', {
      bandwidthMbit: null,
      egress: { deny: ['10.1.0.0/16'] },
    });
    expect(patched.json()).toMatchObject({
      bandwidthMbit: null,
      egress: { default: 'allow', deny: ['10.1.0.0/16'] },
    });
    // Allowed domains: kept as given, only with default deny, only names or `*.` wildcards.
    const named = await inject('PATCH', '/v1/vms/egress', {
      egress: { default: 'deny', domains: ['example.com', '*.example.org'] },
    });
    expect(named.json().egress).toEqual({
      default: 'deny',
      allow: [],
      deny: [],
      domains: ['example.com', '*.example.org'],
    });
    for (const egress of [
      { default: 'allow', domains: ['example.com'] },
      { default: 'deny', domains: ['Example.com'] },
      { default: 'deny', domains: ['a.*.example.com'] },
      { default: 'deny', domains: ['http://example.com'] },
    ]) {
      const r = await inject('PATCH', '/v1/vms/egress', { egress });
      expect(r.statusCode, JSON.stringify(egress)).toBe(400);
    }
  });
});
