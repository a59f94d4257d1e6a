import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomBytes, randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vm } from '@hearth/contract';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { expectCode } from '../helpers/expect.ts';
import { cli } from '../helpers/proc.ts';
import { fetchInNamespace, guestSh } from '../helpers/netns.ts';
import { portTable } from '@hearth/agent';

// Published ports on a real VM, reached from a client in its own network namespace (a stand-in
// for another machine on the host's network), through the host's address; and from the host
// itself, on 127.0.0.1 and on the bridge's address.
let p: Platform;
let vm: Vm;
const tag = randomBytes(3).toString('hex');
const ns = `hcl${tag}`;
const hostSide = `hvh${tag}`;
const octet = randomInt(2, 250);
const hostIp = `10.252.${octet}.1`;
const [portA, portB, portC] = [randomInt(20000, 25000), randomInt(25000, 30000), randomInt(30000, 35000)];

const serve = 'mkdir -p /srv/www && echo hello-from-guest > /srv/www/index.html && httpd -p 8080 -h /srv/www';

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
const fetchFromClient = (port: number) => fetchInNamespace(ns, `http://${hostIp}:${port}/`);
const nftTables = () => execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' });
/** `curl` on the host itself; null when it fails. */
const curlFromHost = (addr: string, port: number) => {
  const r = spawnSync('curl', ['-sS', '--max-time', '10', `http://${addr}:${port}/`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : null;
};
/** The same through Node's own client, by name: `localhost` is what a user types. */
const fetchFromHost = (host: string, port: number) =>
  fetch(`http://${host}:${port}/`, { signal: AbortSignal.timeout(10_000) }).then(
    (r) => r.text(),
    () => null,
  );
const routeLocalnet = () =>
  readFileSync(`/proc/sys/net/ipv4/conf/${p.net.bridge}/route_localnet`, 'utf8').trim();

beforeAll(async () => {
  ip('netns', 'add', ns);
  ip('link', 'add', hostSide, 'type', 'veth', 'peer', 'name', 'eth-client', 'netns', ns);
  ip('addr', 'add', `${hostIp}/30`, 'dev', hostSide);
  ip('link', 'set', hostSide, 'up');
  ip('-n', ns, 'addr', 'add', `10.252.${octet}.2/30`, 'dev', 'eth-client');
  ip('-n', ns, 'link', 'set', 'eth-client', 'up');
  ip('-n', ns, 'link', 'set', 'lo', 'up');
  p = await startPlatform();
  const created = await p.client.call('createVm', {
    body: { name: 'ports-vm', ports: [{ host: portA, guest: 8080 }] },
  });
  vm = await p.client.call('waitVm', {
    params: { id: created.id },
    query: { state: 'running', timeout: 120 },
  });
  const r = await p.client.call('execVm', {
    params: { id: vm.id },
    body: { command: serve },
  });
  expect(r.exitCode).toBe(0);
}, 180_000);

afterAll(async () => {
  await p?.dispose();
  spawnSync('ip', ['netns', 'del', ns]);
  spawnSync('ip', ['link', 'del', hostSide]);
});

describe('published ports (real VM, client in a network namespace)', () => {
  it('forwards a host port to the guest', () => {
    expect(vm.ports).toEqual([{ host: portA, guest: 8080, protocol: 'tcp' }]);
    const got = fetchFromClient(portA);
    expect(got).toBe('hello-from-guest\n');
  });

  it('answers on the host itself too: 127.0.0.1, localhost and the bridge address', async () => {
    expect(curlFromHost('127.0.0.1', portA)).toBe('hello-from-guest\n');
    expect(await fetchFromHost('localhost', portA)).toBe('hello-from-guest\n');
    expect(curlFromHost(p.net.gateway, portA)).toBe('hello-from-guest\n');
    expect(routeLocalnet()).toBe('1');
  });

  it('changes on a running VM at once: the new port answers, the old one no longer', async () => {
    const patched = await p.client.call('patchVm', {
      params: { id: vm.id },
      body: { ports: [{ host: portB, guest: 8080 }] },
    });
    expect(patched.ports).toEqual([{ host: portB, guest: 8080, protocol: 'tcp' }]);
    expect(fetchFromClient(portB)).toBe('hello-from-guest\n');
    expect(fetchFromClient(portA)).toBeNull();
    expect(curlFromHost('127.0.0.1', portB)).toBe('hello-from-guest\n');
    expect(curlFromHost('127.0.0.1', portA)).toBeNull();
  });

  it('refuses a host port another VM publishes, and duplicates in one request', async () => {
    const e = await expectCode(
      () => p.client.call('createVm', { body: { name: 'ports-clash', ports: [{ host: portB, guest: 80 }] } }),
      'PORT_TAKEN',
      409,
    );
    expect(e.message).toContain('ports-vm');
    await expectCode(
      () =>
        p.client.call('createVm', {
          body: {
            name: 'ports-dup',
            ports: [
              { host: portC, guest: 80 },
              { host: portC, guest: 81 },
            ],
          },
        }),
      'VALIDATION_FAILED',
      400,
    );
  });

  it("refuses a port a host process listens on (the agent's own API here), leaving the forwards as they were", async () => {
    const agentPort = Number(new URL(p.agent!.url).port);
    const e = await expectCode(
      () =>
        p.client.call('patchVm', {
          params: { id: vm.id },
          body: { ports: [{ host: agentPort, guest: 8080 }] },
        }),
      'PORT_TAKEN',
      409,
    );
    expect(e.message).toMatch(/a process on the host listens on it/);
    expect((await p.client.call('getVm', { params: { id: vm.id } })).ports).toEqual([
      { host: portB, guest: 8080, protocol: 'tcp' },
    ]);
    expect(fetchFromClient(portB)).toBe('hello-from-guest\n');
  });

  it('takes --publish from the CLI', async () => {
    const env = { HEARTH_URL: p.manager.url, HEARTH_TOKEN: p.manager.adminToken };
    const r = await cli(
      ['--json', 'create', '--name', 'ports-cli', '--no-start', '--publish', `${portC}:53/udp`],
      env,
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).ports).toEqual([{ host: portC, guest: 53, protocol: 'udp' }]);
  });

  it('removes its forwards when the VM stops, and again when it is deleted', async () => {
    const table = `table ip ${portTable(vm.id)}`;
    expect(nftTables()).toContain(table);
    await p.client.call('stopVm', { params: { id: vm.id }, body: {} });
    await p.client.call('waitVm', { params: { id: vm.id }, query: { state: 'stopped', timeout: 90 } });
    expect(nftTables()).not.toContain(table);
    expect(fetchFromClient(portB)).toBeNull();
    expect(curlFromHost('127.0.0.1', portB)).toBeNull();
    // The last published port on the bridge is gone: so is loopback routing on it.
    expect(routeLocalnet()).toBe('0');
    // Started again it gets them back; deleted, they go for good.
    await p.client.call('startVm', { params: { id: vm.id } });
    await p.client.call('waitVm', { params: { id: vm.id }, query: { state: 'running', timeout: 120 } });
    expect(nftTables()).toContain(table);
    expect(routeLocalnet()).toBe('1');
    expect((await guestSh(p.client, vm.id, serve)).exitCode).toBe(0);
    expect(curlFromHost('127.0.0.1', portB)).toBe('hello-from-guest\n');
    await p.client.call('deleteVm', { params: { id: vm.id } });
    await p.manager.vmService.drain();
    expect(nftTables()).not.toContain(table);
    expect(curlFromHost('127.0.0.1', portB)).toBeNull();
    expect(await fetchFromHost('localhost', portB)).toBeNull();
    expect(routeLocalnet()).toBe('0');
  });
});
