// Network benchmark: the agent's per-VM network setup (TAP on the bridge plus the published-port
// nftables table, apps/agent/src/net.ts) and teardown on a throwaway bridge; host↔guest TCP
// throughput with iperf3 through Hearth's network and through a bare QEMU on a plain TAP (same
// kernel, image and QEMU argv, no Hearth in the loop), and the ratio; TCP connect and one-byte
// round trip to a server in the guest through a published port, from a client network namespace,
// against the VM's own address. Traffic stays on this host's own bridge, TAPs and veth pair.
// Everything carries a random name and is removed at the end, on failure and on Ctrl-C.
// Usage: node --import tsx bench/net.ts [--taps 30] [--connects 100] [--seconds 5] [--runs 3]
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt, createHash } from 'node:crypto';
import { once } from 'node:events';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { BOOT_MARKER, ensureToolImage } from '@hearth/images';
import { buildQemuArgs, detectAccel, hostTscKhz, QEMU_BINARY } from '@hearth/qemu';
import {
  applyPolicy,
  applyPorts,
  createTaps,
  deleteTaps,
  ensureNetwork,
  linkExists,
  removePolicy,
  removePorts,
  sh,
  teardownNetwork,
} from '@hearth/agent';
import type { AgentVmSpec } from '@hearth/contract';
import { startPlatform, type Platform } from '../test/helpers/platform.ts';
import { arg, percentile, stats, whenFileContains } from './lib.ts';

const execFileP = promisify(execFile);

interface RoundTrip {
  connectMs: number;
  rttMs: number;
}

/** One TCP connection: connect, send one byte, wait for the echo, close. */
function roundTrip(host: string, port: number): Promise<RoundTrip> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let connected = 0;
    const s = connect({ host, port, noDelay: true });
    s.setTimeout(10_000, () => s.destroy(new Error(`no echo from ${host}:${port} within 10 s`)));
    s.once('connect', () => {
      connected = performance.now();
      s.write('x');
    });
    s.once('data', () => {
      const t = performance.now();
      s.destroy();
      resolve({ connectMs: connected - t0, rttMs: t - t0 });
    });
    s.once('error', reject);
    s.once('end', () => reject(new Error(`${host}:${port} closed without an echo`)));
  });
}

/** `count` sequential round trips after a few unrecorded ones (ARP, conntrack, page cache). */
async function roundTrips(host: string, port: number, count: number): Promise<RoundTrip[]> {
  for (let i = 0; i < 3; i++) await roundTrip(host, port);
  const out: RoundTrip[] = [];
  for (let i = 0; i < count; i++) out.push(await roundTrip(host, port));
  return out;
}

// Client mode: this same script, run inside the client network namespace by the main run below.
if (process.argv[2] === '--client') {
  const [host, port, count] = process.argv.slice(3);
  console.log(JSON.stringify(await roundTrips(host!, Number(port), Number(count))));
  process.exit(0);
}

const taps = arg('taps', 30);
const connects = arg('connects', 100);
const seconds = arg('seconds', 5);
const runs = arg('runs', 3);

// Undo steps, run newest first at the end, on failure and on SIGINT/SIGTERM; each is idempotent.
const undo: { what: string; fn: () => Promise<unknown> }[] = [];
const later = (what: string, fn: () => Promise<unknown>) => undo.push({ what, fn });
async function cleanUp(): Promise<void> {
  for (const u of undo.splice(0).reverse()) {
    await u.fn().catch((e: Error) => console.error(`cleanup: ${u.what}: ${e.message.split('\n')[0]}`));
  }
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    console.error(`\n${sig}: cleaning up`);
    void cleanUp().finally(() => process.exit(130));
  });
}

const tag = randomBytes(3).toString('hex');

/** A 10.x.y.0/24 that no address or route on this host touches; /30s for the TAP and the veth pair. */
async function freeSubnet(): Promise<string> {
  const used = (await sh(['ip', '-4', 'addr'])) + (await sh(['ip', '-4', 'route']));
  for (;;) {
    const prefix = `10.${randomInt(200, 250)}.${randomInt(0, 256)}`;
    if (!used.includes(`${prefix}.`)) return prefix;
  }
}

/** A TCP port nothing listens on now (the kernel's pick for port 0). */
async function freePort(): Promise<number> {
  const srv = createServer().listen(0);
  await once(srv, 'listening');
  const { port } = srv.address() as { port: number };
  srv.close();
  return port;
}

/** Deletes a bridge, TAP or veth when it is there. */
async function delLink(name: string): Promise<void> {
  if (await linkExists(name)) await sh(['ip', 'link', 'del', 'dev', name]);
}

/** iperf3 from the host to `ip` for `secs` (after one omitted second); bits/s the receiver counted. */
async function iperf(ip: string, reverse: boolean, secs = seconds): Promise<number> {
  const argv = ['-c', ip, '-t', String(secs), '-O', '1', '-J', '--connect-timeout', '3000'];
  if (reverse) argv.push('-R');
  const deadline = Date.now() + 60_000;
  for (;;) {
    const out = await execFileP('iperf3', argv, { timeout: (secs + 30) * 1000 }).then(
      (r) => r.stdout,
      (e: { stdout?: string; message: string }) => e.stdout || JSON.stringify({ error: e.message }),
    );
    const j = JSON.parse(out) as {
      error?: string;
      end?: { sum_received?: { bits_per_second: number } };
    };
    const bps = j.end?.sum_received?.bits_per_second;
    if (!j.error && bps) return bps;
    // The server may still be starting (exec'd daemon, or the bare guest's inittab).
    if (!/unable to (connect|receive)|refused|timed out/i.test(j.error ?? '') || Date.now() > deadline) {
      throw new Error(`iperf3 ${argv.join(' ')}: ${j.error ?? 'no result'}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Round trips until one succeeds (the guest's server is starting), for up to a minute. */
async function reachable(host: string, port: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await roundTrip(host, port);
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

// 1. The agent's network work on the boot path, with the functions the supervisor calls: the
// network built once per host, then per VM its TAP, its published-port table and (for half of
// them) an egress policy with a rate limit; then the teardown of a VM's share.
async function benchSetup(prefix: string): Promise<string[]> {
  const network = {
    id: `net_netbench${tag}`,
    name: `netbench-${tag}`,
    mode: 'nat' as const,
    bridge: `hbnb${tag}`,
    cidr: `${prefix}.0/24`,
    gateway: `${prefix}.1`,
    dnsForwarder: false,
    interface: null,
    vlan: null,
    vxlan: null,
  };
  const ctx = {
    agent: 'netbench',
    underlay: null,
    dnsUpstream: [],
    features: new Set(['net-bridge', 'net-nat']),
  };
  later(`network ${network.bridge}`, () => teardownNetwork(network));
  const t00 = performance.now();
  await ensureNetwork(network, ctx);
  const buildMs = performance.now() - t00;
  const port0 = randomInt(30000, 40000);
  const again: number[] = [];
  const tap: number[] = [];
  const ports: number[] = [];
  const policy: number[] = [];
  const total: number[] = [];
  const teardown: number[] = [];
  const specs: AgentVmSpec[] = [];
  for (let i = 0; i < taps; i++) {
    const ip = `${prefix}.${10 + (i % 200)}`;
    const spec = {
      id: `vm_netbench${tag}${String(i).padStart(4, '0')}`,
      ports: [{ host: port0 + i, guest: 8080, protocol: 'tcp' as const }],
      egress: i % 2 ? { default: 'deny' as const, allow: ['10.0.0.0/8'], deny: [] } : null,
      bandwidthMbit: i % 2 ? 100 : null,
      nics: [
        {
          mac: `02:48:00:00:00:${(i + 16).toString(16)}`,
          ip,
          prefix: 24,
          gateway: network.gateway,
          dns: [],
          network,
        },
      ],
    } as unknown as AgentVmSpec;
    specs.push(spec);
    later(`network share of ${spec.id}`, () => releaseVm(spec));
    const t0 = performance.now();
    await ensureNetwork(network, ctx);
    const t1 = performance.now();
    await createTaps(spec, 'netbench');
    const t2 = performance.now();
    await applyPorts(spec.id, { ip, bridge: network.bridge }, spec.ports);
    const t3 = performance.now();
    await applyPolicy(spec, 'netbench', { fresh: true });
    const t4 = performance.now();
    again.push(t1 - t0);
    tap.push(t2 - t1);
    ports.push(t3 - t2);
    policy.push(t4 - t3);
    total.push(t4 - t0);
  }
  for (const spec of specs) {
    const t0 = performance.now();
    await releaseVm(spec);
    teardown.push(performance.now() - t0);
  }
  await teardownNetwork(network);
  return [
    `\n1. network setup on the boot path (apps/agent/src/networks.ts, vm-net.ts, net.ts), ${taps} VMs accumulating on one NAT network`,
    `network build (bridge, address, forward/NAT table), first VM on the host: ${buildMs.toFixed(1)} ms`,
    stats('network already built (cached, per VM)', again, 'ms', 2),
    stats('TAP (ip -batch: tuntap, alias, master, up)', tap),
    stats('published-port table (nft -f)', ports),
    stats('egress + rate limit (half the VMs; nft + tc)', policy),
    stats('total per VM', total),
    stats('teardown per VM (TAP, ports, policy)', teardown),
  ];
}

async function releaseVm(spec: AgentVmSpec): Promise<void> {
  await deleteTaps(spec);
  await removePorts(spec.id);
  await removePolicy(spec.id);
}

/** Appends a line to the image's /etc/inittab with debugfs (no mount). */
async function addInittabLine(disk: string, line: string, work: string): Promise<void> {
  const inittab = await sh(['debugfs', '-R', 'cat /etc/inittab', disk]);
  await writeFile(join(work, 'inittab'), `${inittab.replace(/\n?$/, '\n')}${line}\n`);
  await writeFile(join(work, 'debugfs'), `rm /etc/inittab\nwrite ${join(work, 'inittab')} /etc/inittab\n`);
  await sh(['debugfs', '-w', '-f', join(work, 'debugfs'), disk]);
}

function stopChild(child: ChildProcess): Promise<unknown> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return Promise.resolve();
  const gone = once(child, 'exit');
  child.kill('SIGKILL');
  return gone;
}

/**
 * The same kernel, image and QEMU argv on a plain TAP with a host address: no bridge, no agent.
 * Resolves with the guest's address once iperf3 answers there (started by the guest's inittab).
 */
async function bareQemu(
  p: Platform,
  vm: { vcpus: number; memoryMib: number; kernel: string },
  rootfs: string,
  prefix: string,
): Promise<string> {
  const kernel = await p.manager.stores.images.require(vm.kernel);
  const initrdName = typeof kernel.meta.initrd === 'string' ? kernel.meta.initrd : null;
  const initrd = initrdName ? await p.manager.stores.images.require(initrdName) : null;
  const dir = await mkdtemp(join(tmpdir(), 'hearth-netbench-'));
  later(`directory ${dir}`, () => rm(dir, { recursive: true, force: true }));
  const disk = join(dir, 'disk.raw');
  await copyFile(rootfs, disk);
  await addInittabLine(disk, '::respawn:/usr/bin/iperf3 -s', dir);
  const tap = `hbnq${tag}`;
  later(`TAP ${tap}`, () => delLink(tap));
  await sh(['ip', 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
  await sh(['ip', 'addr', 'add', `${prefix}.1/30`, 'dev', tap]);
  await sh(['ip', 'link', 'set', 'dev', tap, 'up']);
  // As the QEMU driver does: TSC hints under TCG (packages/qemu/src/driver.ts).
  const accel = (await detectAccel()).accel;
  const tsc = accel === 'tcg' ? await hostTscKhz() : null;
  const cmdline = [
    typeof kernel.meta.cmdline === 'string' ? kernel.meta.cmdline : 'console=ttyS0 root=/dev/vda rw',
    `hearth.hostname=netbench hearth.ip=${prefix}.2/30,,`,
    tsc ? `tsc_early_khz=${tsc} tsc=reliable` : '',
  ].join(' ');
  const consoleLog = join(dir, 'console.log');
  const args = buildQemuArgs(
    {
      vmId: `netbench-${tag}`,
      runDir: dir,
      vcpus: vm.vcpus,
      memoryMib: vm.memoryMib,
      kernelPath: kernel.path,
      initrdPath: initrd?.path ?? null,
      diskPath: disk,
      cmdline: cmdline.trim(),
      consoleLogPath: consoleLog,
      tap: { name: tap, mac: `52:54:00:${tag.match(/../g)!.join(':')}` },
      guestSocketPath: join(dir, 'guest.sock'),
    },
    accel,
  );
  const q = spawn(QEMU_BINARY, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  later('bare QEMU', () => stopChild(q));
  let stderr = '';
  q.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const died = once(q, 'exit').then(() => {
    throw new Error(`bare QEMU exited early: ${stderr.trim() || 'no stderr'}`);
  });
  died.catch(() => undefined); // observed through the races below; killed at cleanup
  await Promise.race([whenFileContains(consoleLog, BOOT_MARKER, 120_000), died]);
  const guest = `${prefix}.2`;
  await Promise.race([iperf(guest, false, 1), died]);
  return guest;
}

/** Connect timings from inside a fresh network namespace behind a veth pair (a client "outside"). */
async function fromNamespace(ns: string, host: string, port: number): Promise<RoundTrip[]> {
  const argv = [
    'netns',
    'exec',
    ns,
    process.execPath,
    ...process.execArgv,
    fileURLToPath(import.meta.url),
    '--client',
    host,
    String(port),
    String(connects),
  ];
  const { stdout } = await execFileP('ip', argv, { timeout: 300_000 }).catch((e: Error) => {
    throw new Error(`client in ${ns} failed: ${e.message}`);
  });
  return JSON.parse(stdout) as RoundTrip[];
}

async function main(): Promise<void> {
  // Other work on this host (tests, other VMs) moves these numbers: say how busy it was.
  const load = () => loadavg()[0]!.toFixed(2);
  console.log(`host: ${availableParallelism()} CPUs, load average (1 min) at start ${load()}`);
  const prefix = await freeSubnet();
  console.log((await benchSetup(prefix)).join('\n'));

  const image = await ensureToolImage('iperf3');
  const p = await startPlatform();
  later('platform (manager, agent, their VMs and bridge)', () => p.dispose());
  const bytes = await readFile(image.path);
  const img = await p.client.call('createImage', {
    body: { name: 'bench-iperf3', sha256: createHash('sha256').update(bytes).digest('hex') },
  });
  await p.client.raw(
    'uploadImageContent',
    { params: { id: img.id } },
    { body: new Uint8Array(bytes), headers: { 'content-type': 'application/octet-stream' } },
  );

  const published = await freePort();
  const created = await p.client.call('createVm', {
    body: { name: 'netbench', image: 'bench-iperf3', ports: [{ host: published, guest: 8080 }] },
  });
  const vm = await p.client.call('waitVm', {
    params: { id: created.id },
    query: { state: 'running', timeout: 120 },
  });
  if (vm.state !== 'running' || !vm.ip)
    throw new Error(`the VM is ${vm.state} (${vm.stateReason ?? 'no address'})`);
  const exec = async (command: string) => {
    const r = await p.client.call('execVm', { params: { id: vm.id }, body: { command } });
    if (r.exitCode !== 0) throw new Error(`guest: ${command}: exit ${r.exitCode}: ${r.stderr.trim()}`);
  };
  await exec('iperf3 -s -D');
  // busybox nc: -ll with -e forks one `cat` per connection, an echo server.
  await exec('nc -ll -p 8080 -e /bin/cat </dev/null >/dev/null 2>&1 &');

  // 3. Published port vs the VM's address, from a namespace behind a veth pair and from the host.
  const ns = `hearth-netbench-${tag}`;
  const [vethHost, vethNs] = [`hbnv${tag}`, `hbnw${tag}`];
  later(`namespace ${ns}`, () => sh(['ip', 'netns', 'del', ns]).catch(() => undefined));
  later(`veth ${vethHost}`, () => delLink(vethHost));
  await sh(['ip', 'netns', 'add', ns]);
  await sh(['ip', 'link', 'add', vethHost, 'type', 'veth', 'peer', 'name', vethNs, 'netns', ns]);
  await sh(['ip', 'addr', 'add', `${prefix}.5/30`, 'dev', vethHost]);
  await sh(['ip', 'link', 'set', 'dev', vethHost, 'up']);
  await sh(['ip', '-n', ns, 'link', 'set', 'dev', 'lo', 'up']);
  await sh(['ip', '-n', ns, 'addr', 'add', `${prefix}.6/30`, 'dev', vethNs]);
  await sh(['ip', '-n', ns, 'link', 'set', 'dev', vethNs, 'up']);
  await sh(['ip', '-n', ns, 'route', 'add', 'default', 'via', `${prefix}.5`]);
  await reachable(vm.ip, 8080);
  const latency: [string, RoundTrip[]][] = [
    // From outside, a NAT network's addresses are reachable only through published ports (the
    // network's forward rule drops anything else), so the namespace has no direct row.
    ['netns → published port', await fromNamespace(ns, `${prefix}.5`, published)],
    ['host → published port', await roundTrips(`${prefix}.5`, published, connects)],
    ['host → VM address', await roundTrips(vm.ip, 8080, connects)],
  ];
  const ratio = (i: number, j: number, key: keyof RoundTrip = 'connectMs') =>
    (
      percentile(
        latency[i]![1].map((r) => r[key]),
        50,
      ) /
      percentile(
        latency[j]![1].map((r) => r[key]),
        50,
      )
    ).toFixed(2) + '×';

  // 2. Throughput through Hearth's network (host → bridge → TAP → guest) and through a bare QEMU
  // on a plain TAP, both guests up throughout and the runs interleaved, so that both see the
  // same background load.
  const bare = await bareQemu(p, vm, image.path, prefix);
  const hearthUp: number[] = [];
  const hearthDown: number[] = [];
  const bareUp: number[] = [];
  const bareDown: number[] = [];
  for (let i = 0; i < runs; i++) {
    hearthUp.push(await iperf(vm.ip, false));
    bareUp.push(await iperf(bare, false));
    hearthDown.push(await iperf(vm.ip, true));
    bareDown.push(await iperf(bare, true));
  }

  console.log(
    [
      `\n2. host↔guest TCP throughput, iperf3 ${seconds} s per direction (after 1 s omitted), median (min–max) of ${runs} interleaved runs, QEMU ${vm.accel}, ${vm.vcpus} vCPU, ${vm.memoryMib} MiB, iperf3 ${String(image.meta.version)} in the guest`,
      throughput('host → guest', hearthUp, bareUp),
      throughput('guest → host', hearthDown, bareDown),
      `\n3. TCP to an echo server in the guest (busybox nc -ll -e cat), ${connects} sequential connections each`,
      ...latency.flatMap(([label, rts]) => [
        stats(
          `${label}: connect`,
          rts.map((r) => r.connectMs),
          'ms',
          2,
        ),
        stats(
          `${label}: connect + 1-byte echo`,
          rts.map((r) => r.rttMs),
          'ms',
          2,
        ),
      ]),
      `published port vs the VM's address, from the host, p50 connect: ${ratio(1, 2)}, p50 echo: ${ratio(1, 2, 'rttMs')}`,
      `(published: ${prefix}.5:${published} → ${vm.ip}:8080, nft DNAT \`fib daddr type local\`; netns ${prefix}.6 via veth; host load average at end ${load()})`,
    ].join('\n'),
  );
}

/** Median of the runs (and their range) for each path, and the ratio of the medians. */
function throughput(label: string, hearth: number[], bare: number[]): string {
  const mbit = (bps: number) => (bps / 1e6).toFixed(0);
  const show = (v: number[]) =>
    `${mbit(percentile(v, 50))} Mbit/s (${mbit(Math.min(...v))}–${mbit(Math.max(...v))})`;
  const ratio = percentile(hearth, 50) / percentile(bare, 50);
  return `${label.padEnd(13)} Hearth (bridge + TAP) ${show(hearth)}   bare QEMU (plain TAP) ${show(bare)}   ratio ${ratio.toFixed(2)}`;
}

let failed = false;
try {
  await main();
} catch (e) {
  failed = true;
  console.error(`network benchmark failed: ${(e as Error).message}`);
} finally {
  await cleanUp();
}
process.exit(failed ? 1 : 0);
