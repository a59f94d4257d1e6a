import { readFile, writeFile } from 'node:fs/promises';
import { Resolver } from 'node:dns/promises';
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateVmBody, type Network, type Vm } from '@hearth/contract';
import { dnsHostsFile, dnsPidFile } from '@hearth/agent';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { testDnsServer } from '../helpers/dns.ts';
import { until } from '../helpers/vm.ts';

// Guests resolve names through their gateway: a DNS forwarder on the bridge, here pointed at a
// test DNS server on loopback instead of the host's resolvers. The forwarder also answers the
// network's VM names: one VM with a NIC on the shared default network and one on a project
// network `dnsapp`, created with the alias `db` (as a container's network alias is passed).
let p: Platform;
let dns: Awaited<ReturnType<typeof testDnsServer>>;
let vm: Vm;
let app: Network;

const ipOn = (name: string) => vm.networks.find((n) => n.networkName === name)!.ip!;

beforeAll(async () => {
  dns = await testDnsServer({ 'hello.hearth.test': '10.9.8.7' });
  p = await startPlatform({ dnsUpstream: [`127.0.0.1#${dns.port}`] });
  app = await p.client.call('createNetwork', {
    body: { name: 'dnsapp', mode: 'nat', cidr: `10.${randomInt(226, 250)}.${randomInt(1, 250)}.0/24` },
  });
  const created = await p.manager.vmService.create(
    { ...CreateVmBody.parse({ name: 'dns-vm', networks: ['default', app.name] }), dnsAliases: ['db'] },
    'default',
    'test',
  );
  vm = await p.client.call('waitVm', {
    params: { id: created.id },
    query: { state: 'running', timeout: 120 },
  });
}, 180_000);
afterAll(async () => {
  await p?.dispose();
  dns?.close();
});

const guest = (command: string) => p.client.call('execVm', { params: { id: vm.id }, body: { command } });

/** The addresses the forwarder on `server` gives for `name`, asked from the host ([] when none). */
async function lookup(server: string, name: string): Promise<string[]> {
  const r = new Resolver({ timeout: 3000, tries: 2 });
  r.setServers([server]);
  return r.resolve4(name).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOTFOUND' || e.code === 'ENODATA') return [];
    throw e;
  });
}

describe('guest DNS (real VM)', () => {
  it('resolves names through the forwarder on its gateway', async () => {
    const conf = await guest('cat /etc/resolv.conf');
    expect(conf.stdout).toContain(`nameserver ${p.net.gateway}`);
    const r = await guest('nslookup hello.hearth.test');
    expect(r.stdout).toContain('10.9.8.7');
    const missing = await guest('nslookup nowhere.hearth.test');
    expect(missing.exitCode).not.toBe(0);
  });

  it("resolves the network's VMs by name and alias, from inside a guest", async () => {
    // A project network: the bare name, the alias, and both under <network>.hearth.
    for (const name of ['dns-vm', 'db', 'dns-vm.dnsapp.hearth', 'db.dnsapp.hearth']) {
      const r = await guest(`nslookup ${name} ${app.gateway}`);
      expect(r.stdout, name).toContain(ipOn(app.name));
    }
    // The shared default network carries several projects: only the project-qualified name.
    const fq = await guest(`nslookup dns-vm.default.default.hearth ${p.net.gateway}`);
    expect(fq.stdout).toContain(ipOn('default'));
    expect((await guest(`nslookup dns-vm ${p.net.gateway}`)).exitCode).not.toBe(0);
    expect((await guest(`nslookup db ${p.net.gateway}`)).exitCode).not.toBe(0);
    // Unknown `.hearth` names and plain names are answered here, never asked upstream.
    expect((await guest(`nslookup nobody.dnsapp.hearth ${app.gateway}`)).exitCode).not.toBe(0);
    expect((await guest(`nslookup nobody ${app.gateway}`)).exitCode).not.toBe(0);
    expect(dns.queries.filter((q) => q.endsWith('.hearth') || !q.includes('.'))).toEqual([]);
  });

  it('keeps answering across an agent restart, and the new agent writes the names again', async () => {
    await p.agent!.dispose();
    // The names file as a crash could leave it: empty, and the forwarder has read it.
    const bridge = p.net.bridge;
    await writeFile(dnsHostsFile(bridge), '');
    process.kill(Number((await readFile(dnsPidFile(bridge), 'utf8')).trim()), 'SIGHUP');
    await until('the forwarder forgot the name', async () => {
      return (await lookup(p.net.gateway, 'dns-vm.default.default.hearth')).length === 0;
    });
    await p.startAgent();
    expect(await lookup(p.net.gateway, 'dns-vm.default.default.hearth')).toEqual([ipOn('default')]);
    const r = await guest('nslookup hello.hearth.test');
    expect(r.stdout).toContain('10.9.8.7');
    expect((await guest(`nslookup db ${app.gateway}`)).stdout).toContain(ipOn(app.name));
  });

  it('follows a rename of the running VM at once', async () => {
    await p.client.call('patchVm', { params: { id: vm.id }, body: { name: 'dns-vm2' } });
    expect(await lookup(app.gateway!, 'dns-vm2')).toEqual([ipOn(app.name)]);
    expect(await lookup(app.gateway!, 'dns-vm')).toEqual([]);
    expect(await lookup(app.gateway!, 'db')).toEqual([ipOn(app.name)]);
    expect(await lookup(p.net.gateway, 'dns-vm2.default.default.hearth')).toEqual([ipOn('default')]);
    expect(await lookup(p.net.gateway, 'dns-vm.default.default.hearth')).toEqual([]);
  });

  it("takes a stopped VM's names off its networks", async () => {
    expect(await lookup(app.gateway!, 'db')).toEqual([ipOn(app.name)]);
    await p.client.call('stopVm', { params: { id: vm.id }, body: { force: true } });
    await p.client.call('waitVm', { params: { id: vm.id }, query: { state: 'stopped', timeout: 60 } });
    expect(await lookup(app.gateway!, 'db')).toEqual([]);
    expect(await lookup(app.gateway!, 'dns-vm2')).toEqual([]);
    expect(await lookup(p.net.gateway, 'dns-vm2.default.default.hearth')).toEqual([]);
    expect(await readFile(dnsHostsFile(p.net.bridge), 'utf8')).toBe('');
  });
});
