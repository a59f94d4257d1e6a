import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vm } from '@hearth/contract';
import { ensureDistro } from '@hearth/images';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { guestSh, testNamespace, type TestNs } from '../helpers/netns.ts';
import { cli } from '../helpers/proc.ts';
import { until } from '../helpers/vm.ts';

// A debian-12 VM on a bridged network without a subnet (the NIC is DHCP): the guest agent runs
// Debian's busybox udhcpc, the guest takes its address from the LAN's own DHCP server (dnsmasq in
// the test's namespace), the manager learns it, and the LAN reaches the guest at that address.
const tag = randomBytes(3).toString('hex');
const u = randomInt(2, 250);
let p: Platform;
let lan: TestNs;
let dhcp: ChildProcess | null = null;

beforeAll(async () => {
  // Built from Debian's packages on first use (minutes on a cold cache), outside the create.
  await ensureDistro('debian-12');
  lan = testNamespace({ hostCidr: null, nsCidrs: [`192.168.${u}.1/24`], prefix: 'hdlan' });
  dhcp = spawn(
    'ip',
    [
      'netns',
      'exec',
      lan.name,
      'dnsmasq',
      '--conf-file=/dev/null',
      '--keep-in-foreground',
      '--no-hosts',
      '--no-resolv',
      '--port=0',
      '--bind-interfaces',
      '--interface=eth0',
      `--dhcp-range=192.168.${u}.100,192.168.${u}.150,255.255.255.0,1h`,
      `--dhcp-option=3,192.168.${u}.1`,
      `--dhcp-leasefile=/tmp/hearth-test-leases-${tag}`,
      `--pid-file=/tmp/hearth-test-dhcp-${tag}.pid`,
    ],
    { stdio: 'ignore' },
  );
  p = await startPlatform();
}, 3_000_000);

afterAll(async () => {
  await p?.dispose();
  dhcp?.kill('SIGKILL');
  for (const f of [`/tmp/hearth-test-leases-${tag}`, `/tmp/hearth-test-dhcp-${tag}.pid`])
    rmSync(f, { force: true });
  lan?.dispose();
});

describe('Debian images on a DHCP network (real VM)', () => {
  it("debian-12 takes its address from the LAN's DHCP server and is reachable there", async () => {
    const net = await p.client.call('createNetwork', {
      body: { name: `dlan-${tag}`, mode: 'bridged', interface: lan.hostSide },
    });
    expect(net.cidr).toBeNull();
    // With the CLI, which waits as long as the manager works: the manager registers the image
    // (hashes and stores it) on its first use, minutes on a busy machine.
    const env = { HEARTH_URL: p.manager.url, HEARTH_TOKEN: p.manager.adminToken };
    const r = await cli(
      [
        '--json',
        'create',
        '--name',
        'deb-dhcp',
        '--image',
        'debian-12',
        '--memory',
        '512',
        '--network',
        net.name,
        '--no-wait',
      ],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    const created = JSON.parse(r.stdout) as Vm;
    expect(created.networks[0]!.ip).toBeNull();
    const vm = await p.client.call('waitVm', {
      params: { id: created.id },
      query: { state: 'running', timeout: 600 },
    });
    expect(vm.state).toBe('running');
    let lease: string | null = null;
    await until(
      'the manager learns the DHCP address',
      async () => {
        lease = (await p.client.call('getVm', { params: { id: vm.id } })).networks[0]!.ip;
        return lease !== null;
      },
      300_000,
    );
    expect(lease).toMatch(new RegExp(`^192\\.168\\.${u}\\.(1[0-4]\\d|150)$`));
    // The address is on the guest's NIC, with the LAN's router as the default route.
    const addr = await guestSh(p.client, vm.id, 'ip -4 -o addr show scope global; ip -4 route show default');
    expect(addr.stdout).toContain(`inet ${lease}/24`);
    expect(addr.stdout).toMatch(new RegExp(`^default via 192\\.168\\.${u}\\.1 `, 'm'));
    // The LAN reaches a server in the guest at the leased address (busybox's httpd from the image).
    const served = await guestSh(
      p.client,
      vm.id,
      'mkdir -p /srv/www && echo hello-from-debian-dhcp > /srv/www/index.html && busybox httpd -p 8080 -h /srv/www',
    );
    expect(served.exitCode).toBe(0);
    let got: string | null = null;
    await until(
      'the LAN reaches the guest',
      () => (got = lan.fetch(`http://${lease}:8080/`)) !== null,
      120_000,
    );
    expect(got).toBe('hello-from-debian-dhcp\n');
    // Removed here so the network's bridge goes too (a busy machine takes minutes to stop a VM).
    await p.client.call('deleteVm', { params: { id: vm.id } });
    await until(
      'VM record gone',
      () =>
        p.client.call('getVm', { params: { id: vm.id } }).then(
          () => false,
          () => true,
        ),
      600_000,
    );
    await p.client.call('deleteNetwork', { params: { id: net.id } });
  }, 2_400_000);
});
