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

/**
 * Guests use their gateway (the bridge address) as DNS server: a dnsmasq there forwards to the
 * host's resolvers (or `upstream`), with a cache. It runs detached like the VMMs, so an agent
 * restart leaves guests' DNS working; a running forwarder with the same settings is kept. It
 * answers the network's VM names from its hosts file (re-read on SIGHUP, `reloadDns`); names
 * under `.hearth` and plain names it does not know are answered "no such name" here, never
 * asked upstream.
 */
export async function ensureDns(bridge: string, gateway: string, upstream: string[] = []): Promise<void> {
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
  ];
  const pid = await runningPid(bridge);
  if (pid) {
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (args.every((a) => cmdline.includes(a))) return;
    process.kill(pid, 'SIGTERM');
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
