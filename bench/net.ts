// Network benchmark: the agent's per-VM network setup (TAP on the bridge plus the published-port
// nftables table, apps/agent/src/net.ts) and teardown on a throwaway bridge; host↔guest TCP
// throughput with iperf3 through Hearth's network and through a bare QEMU on a plain TAP (same
// kernel, image and QEMU argv, no Hearth in the loop), and the ratio; TCP connect and one-byte
// round trip to a server in the guest through a published port, from a client network namespace,
// against the VM's own address. Traffic stays on this host's own bridge, TAPs and veth pair.
// Everything carries a random name and is removed at the end, on failure and on Ctrl-C.
// Usage: node --import tsx bench/net.ts [--taps 30] [--connects 100] [--seconds 5] [--runs 3]
import { execFile } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ensureToolImage } from '@hearth/images';
import { sh } from '@hearth/agent';
import { startPlatform } from '../test/helpers/platform.ts';
import { arg, percentile, stats } from './lib.ts';
import { bareQemu } from './net/bare-qemu.ts';
import { delLink, freePort, freeSubnet, iperf, reachable, roundTrips, type RoundTrip } from './net/probe.ts';
import { benchSetup } from './net/setup.ts';
import { cleanUp, cleanUpOnSignals, later } from './net/undo.ts';

const execFileP = promisify(execFile);

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

cleanUpOnSignals();

const tag = randomBytes(3).toString('hex');

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
  console.log((await benchSetup(prefix, tag, taps)).join('\n'));

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
  const bare = await bareQemu(p, vm, image.path, prefix, tag);
  const hearthUp: number[] = [];
  const hearthDown: number[] = [];
  const bareUp: number[] = [];
  const bareDown: number[] = [];
  for (let i = 0; i < runs; i++) {
    hearthUp.push(await iperf(vm.ip, false, seconds));
    bareUp.push(await iperf(bare, false, seconds));
    hearthDown.push(await iperf(vm.ip, true, seconds));
    bareDown.push(await iperf(bare, true, seconds));
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
