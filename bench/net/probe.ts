// Measurement and address helpers of the network benchmark: TCP round trips, iperf3 runs, and
// free subnets, ports and links on this host.
import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { promisify } from 'node:util';
import { linkExists, sh } from '@hearth/agent';

const execFileP = promisify(execFile);

export interface RoundTrip {
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
export async function roundTrips(host: string, port: number, count: number): Promise<RoundTrip[]> {
  for (let i = 0; i < 3; i++) await roundTrip(host, port);
  const out: RoundTrip[] = [];
  for (let i = 0; i < count; i++) out.push(await roundTrip(host, port));
  return out;
}

/** Round trips until one succeeds (the guest's server is starting), for up to a minute. */
export async function reachable(host: string, port: number): Promise<void> {
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

/** iperf3 from the host to `ip` for `secs` (after one omitted second); bits/s the receiver counted. */
export async function iperf(ip: string, reverse: boolean, secs: number): Promise<number> {
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

/** A 10.x.y.0/24 that no address or route on this host touches; /30s for the TAP and the veth pair. */
export async function freeSubnet(): Promise<string> {
  const used = (await sh(['ip', '-4', 'addr'])) + (await sh(['ip', '-4', 'route']));
  for (;;) {
    const prefix = `10.${randomInt(200, 250)}.${randomInt(0, 256)}`;
    if (!used.includes(`${prefix}.`)) return prefix;
  }
}

/** A TCP port nothing listens on now (the kernel's pick for port 0). */
export async function freePort(): Promise<number> {
  const srv = createServer().listen(0);
  await once(srv, 'listening');
  const { port } = srv.address() as { port: number };
  srv.close();
  return port;
}

/** Deletes a bridge, TAP or veth when it is there. */
export async function delLink(name: string): Promise<void> {
  if (await linkExists(name)) await sh(['ip', 'link', 'del', 'dev', name]);
}
