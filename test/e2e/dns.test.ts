import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vm } from '@hearth/contract';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { testDnsServer } from '../helpers/dns.ts';

// Guests resolve names through their gateway: a DNS forwarder on the bridge, here pointed at a
// test DNS server on loopback instead of the host's resolvers.
let p: Platform;
let dns: Awaited<ReturnType<typeof testDnsServer>>;
let vm: Vm;

beforeAll(async () => {
  dns = await testDnsServer({ 'hello.hearth.test': '10.9.8.7' });
  p = await startPlatform({ dnsUpstream: [`127.0.0.1#${dns.port}`] });
  const created = await p.client.call('createVm', { body: { name: 'dns-vm' } });
  vm = await p.client.call('waitVm', {
    params: { id: created.id },
    query: { state: 'running', timeout: 120 },
  });
}, 180_000);
afterAll(async () => {
  await p?.dispose();
  dns?.close();
});

describe('guest DNS (real VM)', () => {
  it('resolves names through the forwarder on its gateway', async () => {
    const conf = await p.client.call('execVm', {
      params: { id: vm.id },
      body: { command: 'cat /etc/resolv.conf' },
    });
    expect(conf.stdout).toContain(`nameserver ${p.net.gateway}`);
    const r = await p.client.call('execVm', {
      params: { id: vm.id },
      body: { command: 'nslookup hello.hearth.test' },
    });
    expect(r.stdout).toContain('10.9.8.7');
    const missing = await p.client.call('execVm', {
      params: { id: vm.id },
      body: { command: 'nslookup nowhere.hearth.test' },
    });
    expect(missing.exitCode).not.toBe(0);
  });

  it('keeps answering across an agent restart (the forwarder is not the agent)', async () => {
    await p.agent!.dispose();
    await p.startAgent();
    const r = await p.client.call('execVm', {
      params: { id: vm.id },
      body: { command: 'nslookup hello.hearth.test' },
    });
    expect(r.stdout).toContain('10.9.8.7');
  });
});
