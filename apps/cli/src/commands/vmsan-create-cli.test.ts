import { describe, expect, it } from 'vitest';
import type { Vm } from '@hearth/contract';
import { useApiPlatform } from '../../../../test/helpers/api-harness.ts';
import { CLI_ENV, cli } from '../../../../test/helpers/proc.ts';

// `hearth create` with vmsan's flags, run as a user runs the CLI (its own process), against a
// manager whose one host answers nothing: the VM is only recorded (`--no-start`), and the record
// is what the flags must have asked for. test/e2e/egress-domains.test.ts runs a domain list on a
// real VM.
describe("hearth create with vmsan's flags", () => {
  const api = useApiPlatform();
  const hearth = (args: string[]) =>
    cli(args, { HEARTH_URL: api.p.manager.url, HEARTH_TOKEN: api.p.manager.adminToken, ...CLI_ENV });

  it('records the network policy, ports, bandwidth, disk and timeout they ask for, silently', async () => {
    const r = await hearth([
      'create',
      '--name',
      'vmsan-flags',
      '--no-start',
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
      '--disk',
      '10gb',
      '--timeout',
      '2h30m',
      '--silent',
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('');
    expect(r.code).toBe(0);
    const vm = (await api.p.client.call('getVm', { params: { id: 'vmsan-flags' } })) as Vm;
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
    expect(vm.diskMib).toBe(10 * 1024);
    expect(vm.timeout).toBe('150m');
  });

  it('prints the VM without --silent; deny-all is deny with no list', async () => {
    const r = await hearth([
      '--json',
      'create',
      '--name',
      'vmsan-closed',
      '--no-start',
      '--network-policy',
      'deny-all',
    ]);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as Vm).egress).toEqual({ default: 'deny', allow: [], deny: [] });
  });

  it('refuses deny-all with a list, and the two spellings of a policy together, as usage errors', async () => {
    const denyAll = await hearth([
      'create',
      '--no-start',
      '--network-policy',
      'deny-all',
      '--allowed-domain',
      'a.com',
    ]);
    expect(denyAll.code).toBe(2);
    expect(denyAll.stderr).toContain('--network-policy deny-all takes no --allowed-domain');
    const both = await hearth(['create', '--no-start', '--egress', 'deny', '--allowed-cidr', '10.0.0.0/8']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('not both');
    const badRate = await hearth(['create', '--no-start', '--bandwidth', '50mbps']);
    expect(badRate.code).toBe(2);
    expect(badRate.stderr).toContain('--bandwidth 50mbps');
    const vms = await api.p.client.all('listVms', {});
    expect(vms.map((v) => v.name).sort()).toEqual(['vmsan-closed', 'vmsan-flags']);
  });
});
