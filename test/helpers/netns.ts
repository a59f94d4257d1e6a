import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { HearthClient } from '@hearth/sdk';
import { until } from './vm.ts';

/**
 * Test hosts in network namespaces: a namespace joined to the host by a veth pair, with servers
 * (Node itself, run inside the namespace) that stand in for "the internet" or a LAN.
 */

export const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe', encoding: 'utf8' });

export interface TestNs {
  name: string;
  /** The host end of the veth pair. */
  hostSide: string;
  /** Runs a command inside the namespace. */
  run(argv: string[], timeoutMs?: number): { status: number | null; stdout: string; stderr: string };
  /** Starts a TCP server in the namespace: `text` answers a fixed line; `bulk` sends N bytes; `sink` reads all. */
  serve(port: number, mode: 'text' | 'bulk' | 'sink', arg?: string | number): Promise<void>;
  /** HTTP GET from inside the namespace; null when it fails. */
  fetch(url: string): string | null;
  dispose(): void;
}

const SERVER = `
const net = require('node:net');
const [port, mode, arg] = process.argv.slice(1);
net.createServer((s) => {
  s.on('error', () => {});
  if (mode === 'text') s.end(arg + '\\n');
  else if (mode === 'bulk') s.end(Buffer.alloc(Number(arg), 120));
  else { let n = 0; s.on('data', (d) => (n += d.length)); s.on('end', () => s.end(n + '\\n')); }
}).listen(Number(port), '0.0.0.0', () => process.stdout.write('ready\\n'));
`;

/**
 * A namespace with a veth pair: `hostCidr` on the host end (or none: a bare port for bridging),
 * `nsCidrs` inside. Names are unique per call; dispose() removes everything, idempotently.
 */
export function testNamespace(opts: { hostCidr: string | null; nsCidrs: string[]; prefix?: string }): TestNs {
  const tag = randomBytes(3).toString('hex');
  const name = `${opts.prefix ?? 'hns'}${tag}`;
  const hostSide = `hv${tag}`;
  const servers: ChildProcess[] = [];
  ip('netns', 'add', name);
  try {
    ip('link', 'add', hostSide, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name);
    if (opts.hostCidr) ip('addr', 'add', opts.hostCidr, 'dev', hostSide);
    ip('link', 'set', hostSide, 'up');
    for (const c of opts.nsCidrs) ip('-n', name, 'addr', 'add', c, 'dev', 'eth0');
    ip('-n', name, 'link', 'set', 'eth0', 'up');
    ip('-n', name, 'link', 'set', 'lo', 'up');
  } catch (e) {
    spawnSync('ip', ['netns', 'del', name]);
    spawnSync('ip', ['link', 'del', hostSide]);
    throw e;
  }
  let disposed = false;
  return {
    name,
    hostSide,
    run(argv, timeoutMs = 20_000) {
      const r = spawnSync('ip', ['netns', 'exec', name, ...argv], { encoding: 'utf8', timeout: timeoutMs });
      return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    },
    fetch: (url) => fetchInNamespace(name, url),
    serve(port, mode, arg = '') {
      const child = spawn(
        'ip',
        ['netns', 'exec', name, process.execPath, '-e', SERVER, String(port), mode, String(arg)],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      servers.push(child);
      return new Promise((resolve, reject) => {
        child.stdout!.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`test server exited (${code})`)));
      });
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const s of servers) s.kill('SIGKILL');
      spawnSync('ip', ['netns', 'del', name]);
      spawnSync('ip', ['link', 'del', hostSide]);
    },
  };
}

/** An HTTP GET from inside a namespace (Node itself as the client); null when it fails. */
export function fetchInNamespace(ns: string, url: string): string | null {
  const code = `fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(5000) })
    .then((r) => r.text()).then((t) => process.stdout.write(t), () => process.exit(3))`;
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '-e', code], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  return r.status === 0 ? r.stdout : null;
}

/** Deletes a VM and waits until its record is gone (the agent has removed everything). */
export async function deleteVmAndWait(client: HearthClient, vmId: string): Promise<void> {
  await client.call('deleteVm', { params: { id: vmId } });
  await until('VM record gone', () =>
    client.call('getVm', { params: { id: vmId } }).then(
      () => false,
      () => true,
    ),
  );
}

/** Runs a shell command in a guest through the API. */
export async function guestSh(
  client: HearthClient,
  vmId: string,
  command: string,
): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
  const r = await client.call('execVm', { params: { id: vmId }, body: { command, timeoutMs: 60_000 } });
  return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}
