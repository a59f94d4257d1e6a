import { readdir, readFile, readlink, statfs } from 'node:fs/promises';
import { basename, join } from 'node:path';
import pino from 'pino';
import { cpus, freemem, release, totalmem, arch, networkInterfaces } from 'node:os';
import type { HostInventory } from '@hearth/contract';
import type { VmmDriver } from '@hearth/vmm';
import { detectAccel } from '@hearth/qemu';
import { linkExists } from './net.ts';
import { sh } from './exec.ts';
import { ksmSummary } from './ksm.ts';
import { VmConfiner } from './vm/confine.ts';
import { probeNetFeatures, type NetFeature } from './net-features.ts';
import type { HostCpu } from './host-cpu.ts';

// `hearth doctor` reports the confinement check itself, so its confiner logs nothing.
const silentLog = pino({ level: 'silent' });

// The kernel's network features do not change while the agent runs: probe once.
let netFeatures: Promise<NetFeature[]> | null = null;

/**
 * How long the host's checks (VMMs, /dev/kvm, tun, nftables, confinement) are reused between
 * heartbeats. They spawn processes, and a spawn from a large Node process blocks its event loop
 * for tens of milliseconds: run every heartbeat, they took a tenth of the agent's time while idle
 * and starved its streams (a snapshot's state copy, app logs). What they report changes when an
 * operator installs or removes something, so a minute's delay is fine.
 */
const CHECKS_MAX_AGE_MS = 60_000;
const checkCache = new Map<string, { at: number; value: Promise<HostChecks> }>();

interface HostChecks {
  vmms: HostInventory['vmms'];
  checks: HostInventory['checks'];
}

async function check(
  name: string,
  fn: () => Promise<string>,
): Promise<{ name: string; ok: boolean; detail: string }> {
  try {
    return { name, ok: true, detail: await fn() };
  } catch (e) {
    return { name, ok: false, detail: (e as Error).message };
  }
}

/** The kernel's network features, probed once per process. */
export function hostNetFeatures(): Promise<NetFeature[]> {
  return (netFeatures ??= probeNetFeatures());
}

/**
 * Interfaces a bridged network could use: everything but loopback and the links we made, with
 * their addresses (IPv6 link-local aside) and the bridge or bond they already belong to.
 */
async function hostInterfaces(): Promise<HostInventory['interfaces']> {
  const addrs = new Map<string, string[]>();
  for (const [name, list] of Object.entries(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.cidr && !a.cidr.startsWith('fe80:')) addrs.set(name, [...(addrs.get(name) ?? []), a.cidr]);
    }
  }
  const out: HostInventory['interfaces'] = [];
  for (const name of (await readdir('/sys/class/net').catch(() => [] as string[])).sort()) {
    if (name === 'lo' || /^(htap|hbr|hvx)/.test(name)) continue;
    const alias = (await readFile(`/sys/class/net/${name}/ifalias`, 'utf8').catch(() => '')).trim();
    if (alias.startsWith('hearth:')) continue;
    const master = await readlink(`/sys/class/net/${name}/master`).then(
      (l) => basename(l),
      () => null,
    );
    out.push({ name, addresses: addrs.get(name) ?? [], master });
  }
  return out;
}

/**
 * What this host offers; sent at registration and with every heartbeat, shown by `hearth doctor`.
 * Memory, disk and interfaces are read each time; the checks are reused for `maxAgeMs`.
 */
export async function collectInventory(
  dataDir: string,
  drivers: VmmDriver[],
  opts: { underlay?: string | null; confiner?: VmConfiner; maxAgeMs?: number; cpu?: HostCpu } = {},
): Promise<HostInventory> {
  const fs = await statfs(dataDir);
  const freeMib = Math.floor((fs.bavail * fs.bsize) / 2 ** 20);
  const { vmms, checks } = await hostChecks(dataDir, drivers, opts);
  const disk = await check('disk', async () => {
    if (freeMib < 1024) throw new Error(`only ${freeMib} MiB free in ${dataDir}`);
    return `${freeMib} MiB free in ${dataDir}`;
  });
  return {
    cpus: cpus().length,
    memoryMib: Math.floor(totalmem() / 2 ** 20),
    memoryFreeMib: await availableMemoryMib(),
    diskFreeMib: freeMib,
    kernel: release(),
    arch: arch(),
    vmms,
    checks: [...checks, disk],
    interfaces: await hostInterfaces(),
    underlay: opts.underlay ?? null,
    cpuPercent: opts.cpu ? await opts.cpu.sample() : null,
  };
}

function hostChecks(
  dataDir: string,
  drivers: VmmDriver[],
  opts: { confiner?: VmConfiner; maxAgeMs?: number },
): Promise<HostChecks> {
  const key = `${dataDir}\0${drivers.map((d) => d.kind).join(',')}`;
  const cached = checkCache.get(key);
  if (cached && Date.now() - cached.at < (opts.maxAgeMs ?? CHECKS_MAX_AGE_MS)) return cached.value;
  const value = runChecks(dataDir, drivers, opts.confiner);
  checkCache.set(key, { at: Date.now(), value });
  // A failed run is not kept: the next heartbeat tries again.
  value.catch(() => checkCache.delete(key));
  return value;
}

async function runChecks(dataDir: string, drivers: VmmDriver[], confiner?: VmConfiner): Promise<HostChecks> {
  const vmms = await Promise.all(drivers.map((d) => d.probe()));
  // Each driver's own checks (binary, /dev/kvm, CPU flags, jailer), with their reasons.
  const driverChecks = (await Promise.all(drivers.map((d) => d.checks?.() ?? []))).flat();
  const accel = await detectAccel();
  const checks = await Promise.all([
    check('kvm', async () => {
      if (accel.accel !== 'kvm') throw new Error(accel.reason);
      return accel.reason;
    }),
    check('qemu', async () => {
      const q = vmms.find((v) => v.kind === 'qemu');
      if (!q?.available) throw new Error(q?.reason ?? 'QEMU driver missing');
      return `qemu-system-x86_64 ${q.version} (${q.accel})`;
    }),
    check('firecracker', async () => {
      const f = vmms.find((v) => v.kind === 'firecracker');
      if (!f) throw new Error('this agent was built without the Firecracker driver');
      if (!f.available) throw new Error(f.reason ?? 'unavailable');
      return `firecracker ${f.version} (${f.reason})`;
    }),
    check('tun', async () => {
      await sh(['test', '-c', '/dev/net/tun']);
      return '/dev/net/tun present';
    }),
    check('nftables', async () => (await sh(['nft', '--version'])).trim()),
    check('bridge', async () => {
      if (!(await linkExists('lo'))) throw new Error('ip link does not work');
      return 'ip link works';
    }),
    check('ksm', () => ksmSummary()),
    (confiner ?? new VmConfiner(join(dataDir, 'vms'), silentLog)).check(),
  ]);
  return { vmms, checks: [...checks, ...(await hostNetFeatures()), ...driverChecks] };
}

/**
 * What the host can still give without swapping: the kernel's MemAvailable (free memory plus
 * reclaimable page cache), not MemFree, which page cache alone drives towards zero.
 */
export async function availableMemoryMib(): Promise<number> {
  const meminfo = await readFile('/proc/meminfo', 'utf8').catch(() => '');
  const kb = /^MemAvailable:\s+(\d+) kB/m.exec(meminfo)?.[1];
  return Math.floor(kb ? Number(kb) / 1024 : freemem() / 2 ** 20);
}
