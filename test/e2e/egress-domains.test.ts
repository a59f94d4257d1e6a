import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vm } from '@hearth/contract';
import { policyTable } from '@hearth/agent';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { guestSh, testNamespace, type TestNs } from '../helpers/netns.ts';
import { until } from '../helpers/vm.ts';

// Domain allow-lists on a real VM. "The internet" is a network namespace with three servers'
// addresses and its own DNS server (a dnsmasq there knowing allowed.test, x.wild.test and
// other.test); the bridge's forwarder asks only that server. The VM may reach allowed.test and
// *.wild.test by name, and the DNS server's address by CIDR — but not for DNS.
let p: Platform;
let inet: TestNs;
let dnsServer: ChildProcess | null = null;
let vm: Vm;
const o = randomInt(2, 250);
const allowedIp = `10.247.${o}.2`;
const otherIp = `10.247.${o}.3`;
const wildIp = `10.247.${o}.4`;
const dnsIp = `10.247.${o}.5`;
const PORT = 7101;

const reach = async (host: string) =>
  (await guestSh(p.client, vm.id, `nc -w 3 ${host} ${PORT} </dev/null`)).stdout.trim();
const inSet = () =>
  execFileSync('nft', ['list', 'set', 'inet', policyTable(vm.id), 'dns_allow'], { encoding: 'utf8' });

beforeAll(async () => {
  inet = testNamespace({
    hostCidr: `10.247.${o}.1/29`,
    nsCidrs: [allowedIp, otherIp, wildIp, dnsIp].map((a) => `${a}/29`),
    prefix: 'hdn',
  });
  // One server on every address: which address answers is what the policy decides.
  await inet.serve(PORT, 'text', 'hello-from-outside');
  dnsServer = spawn(
    'ip',
    [
      'netns',
      'exec',
      inet.name,
      'dnsmasq',
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--no-hosts',
      '--no-resolv',
      '--bind-interfaces',
      `--listen-address=${dnsIp}`,
      `--address=/allowed.test/${allowedIp}`,
      `--address=/x.wild.test/${wildIp}`,
      `--address=/other.test/${otherIp}`,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const r = new Resolver({ timeout: 2000, tries: 1 });
  r.setServers([dnsIp]);
  await until('the test DNS server answers', () =>
    r.resolve4('allowed.test').then(
      (a) => a[0] === allowedIp,
      () => false,
    ),
  );
  p = await startPlatform({ dnsUpstream: [dnsIp] });
  const created = await p.client.call('createVm', {
    body: {
      name: 'dom-vm',
      egress: {
        default: 'deny',
        allow: [`${dnsIp}/32`],
        deny: [],
        domains: ['allowed.test', '*.wild.test'],
      },
    },
  });
  vm = await p.client.call('waitVm', {
    params: { id: created.id },
    query: { state: 'running', timeout: 180 },
  });
}, 300_000);

afterAll(async () => {
  await p?.dispose();
  dnsServer?.kill('SIGKILL');
  inet?.dispose();
});

describe('egress domain allow-list (real VM, its DNS through the gateway)', () => {
  it('keeps the domains on the VM record', () => {
    expect(vm.egress).toEqual({
      default: 'deny',
      allow: [`${dnsIp}/32`],
      deny: [],
      domains: ['allowed.test', '*.wild.test'],
    });
  });

  it('reaches allowed names, and names under an allowed wildcard, once resolved', async () => {
    expect(inSet()).not.toContain(allowedIp);
    expect(await reach('allowed.test')).toBe('hello-from-outside');
    expect(await reach('x.wild.test')).toBe('hello-from-outside');
    const set = inSet();
    expect(set).toContain(allowedIp);
    expect(set).toContain(wildIp);
    expect(set).not.toContain(otherIp);
  });

  it('refuses another name, and the raw address of a server not resolved through the forwarder', async () => {
    // The name resolves (the refusal is the policy's, not a DNS failure)…
    const looked = await guestSh(p.client, vm.id, 'nslookup other.test');
    expect(looked.stdout).toContain(otherIp);
    // …but its address was never added.
    expect(await reach('other.test')).toBe('');
    expect(await reach(otherIp)).toBe('');
    expect(inSet()).not.toContain(otherIp);
  });

  it('refuses DNS to any server but the gateway, even one its CIDRs allow', async () => {
    // The address is allowed for other traffic…
    expect(await reach(dnsIp)).toBe('hello-from-outside');
    // …but a lookup there (which would add nothing to the set) does not get through.
    const direct = await guestSh(p.client, vm.id, `nslookup allowed.test ${dnsIp}`);
    expect(direct.exitCode).not.toBe(0);
    expect(direct.stdout).not.toContain(allowedIp);
  });

  it('follows a change of the list live', async () => {
    await p.client.call('patchVm', {
      params: { id: vm.id },
      body: {
        egress: { default: 'deny', allow: [], deny: [], domains: ['allowed.test', 'other.test'] },
      },
    });
    expect(await reach('other.test')).toBe('hello-from-outside');
    expect(await reach('allowed.test')).toBe('hello-from-outside');
    // The wildcard is gone: its address went with the old list, and a fresh lookup adds nothing.
    expect((await guestSh(p.client, vm.id, 'nslookup x.wild.test')).stdout).toContain(wildIp);
    expect(await reach('x.wild.test')).toBe('');
    expect(inSet()).not.toContain(wildIp);
    expect(await reach(dnsIp)).toBe('');
  });

  it('keeps the resolved addresses when only other settings change', async () => {
    expect(inSet()).toContain(allowedIp);
    await p.client.call('patchVm', { params: { id: vm.id }, body: { bandwidthMbit: 100 } });
    // Not looked up again (the forwarder's cache would not add it): still in the set.
    expect(inSet()).toContain(allowedIp);
    expect(await reach(allowedIp)).toBe('hello-from-outside');
  });
});
