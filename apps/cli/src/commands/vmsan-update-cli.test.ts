import { describe, expect, it } from 'vitest';
import type { Vm } from '@hearth/contract';
import { useApiPlatform } from '../../../../test/helpers/api-harness.ts';
import { CLI_ENV, cli } from '../../../../test/helpers/proc.ts';

// `hearth update` with vmsan's flags, run as a user runs the CLI (its own process), against a
// manager whose one host answers nothing: the VM is only recorded, and the record after the
// update is what the flags must have asked for.
describe("hearth update with vmsan's flags", () => {
  const api = useApiPlatform();
  const hearth = (args: string[]) =>
    cli(args, { HEARTH_URL: api.p.manager.url, HEARTH_TOKEN: api.p.manager.adminToken, ...CLI_ENV });
  const get = async (id: string) => (await api.p.client.call('getVm', { params: { id } })) as Vm;

  it('replaces the network policy, ports, bandwidth and timeout they name, silently', async () => {
    expect((await hearth(['create', '--name', 'upd-vmsan', '--no-start', '--silent'])).code).toBe(0);
    const r = await hearth([
      'update',
      'upd-vmsan',
      '--publish-port',
      '8080,3000',
      '--network-policy',
      'custom',
      '--allowed-domain',
      'Example.com,*.b.com',
      '--allowed-cidr',
      '10.0.0.0/8',
      '--denied-cidr',
      '10.1.0.0/16',
      '--bandwidth',
      '1gbit',
      '--timeout',
      '2h30m',
      '--silent',
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('');
    expect(r.code).toBe(0);
    const vm = await get('upd-vmsan');
    expect(vm.egress).toEqual({
      default: 'deny',
      allow: ['10.0.0.0/8'],
      deny: ['10.1.0.0/16'],
      domains: ['example.com', '*.b.com'],
    });
    expect(vm.ports).toEqual([
      { host: 8080, guest: 8080, protocol: 'tcp' },
      { host: 3000, guest: 3000, protocol: 'tcp' },
    ]);
    expect(vm.bandwidthMbit).toBe(1000);
    expect(vm.timeout).toBe('150m');
  });

  it("keeps the domain list under Hearth's own --allow; deny-all and none clear", async () => {
    const narrowed = await hearth(['--json', 'update', 'upd-vmsan', '--allow', '192.0.2.0/24']);
    expect(narrowed.code, narrowed.stderr).toBe(0);
    expect((JSON.parse(narrowed.stdout) as Vm).egress).toEqual({
      default: 'deny',
      allow: ['192.0.2.0/24'],
      deny: ['10.1.0.0/16'],
      domains: ['example.com', '*.b.com'],
    });
    const closed = await hearth([
      '--json',
      'update',
      'upd-vmsan',
      '--network-policy',
      'deny-all',
      '--publish',
      'none',
      '--bandwidth',
      'none',
      '--timeout',
      'none',
    ]);
    expect(closed.code, closed.stderr).toBe(0);
    const vm = JSON.parse(closed.stdout) as Vm;
    expect(vm.egress).toEqual({ default: 'deny', allow: [], deny: [] });
    expect(vm.ports).toEqual([]);
    expect(vm.bandwidthMbit).toBeNull();
    expect(vm.timeout).toBeNull();
  });

  it('refuses --disk, deny-all with a list and the two spellings together as usage errors, changing nothing', async () => {
    const before = await get('upd-vmsan');
    const disk = await hearth(['update', 'upd-vmsan', '--disk', '10gb']);
    expect(disk.code).toBe(2);
    expect(disk.stderr).toContain('--disk is taken by hearth create only');
    const denyAll = await hearth([
      'update',
      'upd-vmsan',
      '--network-policy',
      'deny-all',
      '--allowed-domain',
      'a.com',
    ]);
    expect(denyAll.code).toBe(2);
    expect(denyAll.stderr).toContain('--network-policy deny-all takes no --allowed-domain');
    const both = await hearth(['update', 'upd-vmsan', '--egress', 'allow', '--allowed-cidr', '10.0.0.0/8']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('not both');
    const badRate = await hearth(['update', 'upd-vmsan', '--bandwidth', '50mbps']);
    expect(badRate.code).toBe(2);
    expect(badRate.stderr).toContain('--bandwidth 50mbps');
    const badTime = await hearth(['update', 'upd-vmsan', '--timeout', '2x']);
    expect(badTime.code).toBe(2);
    expect(badTime.stderr).toContain('--timeout 2x');
    const mixed = await hearth(['update', 'upd-vmsan', '--publish', 'none', '--publish-port', '80']);
    expect(mixed.code).toBe(2);
    expect(await get('upd-vmsan')).toEqual(before);
  });
});
