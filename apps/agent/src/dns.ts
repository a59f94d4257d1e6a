import { spawn } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { DNS_DOMAIN } from '@hearth/contract';
import { pidAlive } from '@hearth/vmm';

/** Where the forwarder of a bridge keeps its pid: derived from the bridge, so any process can find it. */
export function dnsPidFile(bridge: string): string {
  return `/run/hearth-dns-${bridge}.pid`;
}

/** The hosts file the forwarder of a bridge answers VM names from (`dns-hosts.ts` writes it). */
export function dnsHostsFile(bridge: string): string {
  return `/run/hearth-dns-${bridge}.hosts`;
}

async function runningPid(bridge: string): Promise<number | null> {
  const pid = Number((await readFile(dnsPidFile(bridge), 'utf8').catch(() => '')).trim());
  if (!pid || !pidAlive(pid)) return null;
  // The pid may have been reused: require our own listen address on its command line.
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmdline.includes(`--pid-file=${dnsPidFile(bridge)}`) ? pid : null;
}

/** Per bridge: the settings its forwarder was last started with, and the domain-set options (dns-sets.ts). */
const settings = new Map<string, { gateway: string; upstream: string[] }>();
const setArgs = new Map<string, string[]>();

/**
 * Gives a bridge's forwarder these extra options (its `--nftset` lines) from now on, restarting
 * it when they changed and it was started by this process; else its next `ensureDns` uses them.
 * dnsmasq reads these options only at start.
 */
export async function setDnsSetArgs(bridge: string, args: string[]): Promise<void> {
  if (JSON.stringify(setArgs.get(bridge) ?? []) === JSON.stringify(args)) return;
  if (args.length) setArgs.set(bridge, args);
  else setArgs.delete(bridge);
  const s = settings.get(bridge);
  if (s) await ensureDns(bridge, s.gateway, s.upstream);
}

/** Waits (briefly) until a stopped forwarder is gone: its successor binds the same address. */
async function gone(pid: number): Promise<void> {
  for (let i = 0; i < 250 && pidAlive(pid); i++) await new Promise((r) => setTimeout(r, 20));
}

/**
 * Guests use their gateway (the bridge address) as DNS server: a dnsmasq there forwards to the
 * host's resolvers (or `upstream`), with a cache. It runs detached like the VMMs, so an agent
 * restart leaves guests' DNS working; a running forwarder with the same settings is kept. It
 * answers the network's VM names from its hosts file (re-read on SIGHUP, `reloadDns`); names
 * under `.hearth` and plain names it does not know are answered "no such name" here, never
 * asked upstream.
 */
export function ensureDns(bridge: string, gateway: string, upstream: string[] = []): Promise<void> {
  // One start at a time per bridge: two would race for its address.
  const run = (queues.get(bridge) ?? Promise.resolve()).then(() => startDns(bridge, gateway, upstream));
  const tail = run.catch(() => undefined);
  queues.set(bridge, tail);
  void tail.then(() => {
    if (queues.get(bridge) === tail) queues.delete(bridge);
  });
  return run;
}

const queues = new Map<string, Promise<unknown>>();

async function startDns(bridge: string, gateway: string, upstream: string[]): Promise<void> {
  const args = [
    '--conf-file=/dev/null',
    '--no-hosts',
    '--bind-interfaces',
    `--listen-address=${gateway}`,
    '--except-interface=lo',
    '--cache-size=1000',
    `--pid-file=${dnsPidFile(bridge)}`,
    `--addn-hosts=${dnsHostsFile(bridge)}`,
    '--domain-needed',
    `--local=/${DNS_DOMAIN}/`,
    ...(upstream.length ? ['--no-resolv', ...upstream.map((s) => `--server=${s}`)] : []),
    ...(setArgs.get(bridge) ?? []),
  ];
  settings.set(bridge, { gateway, upstream });
  const pid = await runningPid(bridge);
  if (pid) {
    // The same options exactly: one that has options no longer wanted (a domain set) is replaced too.
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (JSON.stringify(cmdline.slice(1).filter(Boolean)) === JSON.stringify(args)) return;
    process.kill(pid, 'SIGTERM');
    await gone(pid);
  }
  // Read at start: an absent file is an error in dnsmasq's log. Names come with the first VM.
  await writeFile(dnsHostsFile(bridge), '', { flag: 'wx', mode: 0o644 }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
  await new Promise<void>((resolve, reject) => {
    // dnsmasq daemonises itself once it listens; its exit code says whether it could.
    const child = spawn('dnsmasq', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) =>
      reject(new Error(`Starting the DNS forwarder failed: ${e.message} (is dnsmasq-base installed?)`)),
    );
    child.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`Starting the DNS forwarder failed: ${err.trim() || `exit ${code}`}`)),
    );
  });
}

/** Stops the forwarder of a bridge (with the bridge itself, in tests; `hearth up` keeps it). */
export async function stopDns(bridge: string): Promise<void> {
  settings.delete(bridge);
  setArgs.delete(bridge);
  const pid = await runningPid(bridge);
  if (pid) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  await rm(dnsPidFile(bridge), { force: true });
  await rm(dnsHostsFile(bridge), { force: true });
}

/** Makes the forwarder of a bridge re-read its hosts file (SIGHUP; it keeps serving meanwhile). */
export async function reloadDns(bridge: string): Promise<boolean> {
  const pid = await runningPid(bridge);
  if (!pid) return false;
  try {
    process.kill(pid, 'SIGHUP');
    return true;
  } catch {
    return false;
  }
}
