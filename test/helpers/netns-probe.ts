import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { expect } from 'vitest';
import type { Datagram } from './vxlan-frame.ts';

/**
 * UDP probes between network namespaces for attack tests: listeners that print what they get,
 * senders, and "probes then a marker" so a test knows a probe had its chance without a clock.
 */

/** Every program started here, for the test's cleanup. */
export const probeChildren: ChildProcess[] = [];

/** Runs a command in a namespace (argv, never a shell string). */
export const inNs = (n: string, argv: string[], input?: string) =>
  spawnSync('ip', ['netns', 'exec', n, ...argv], { encoding: 'utf8', input, timeout: 20_000 });

/** Lines a program in a namespace prints, and a way to wait for one. */
export class Lines {
  readonly seen: string[] = [];
  private waiters: { want: (l: string) => boolean; done: () => void }[] = [];
  add(line: string) {
    this.seen.push(line);
    this.waiters = this.waiters.filter((w) => (w.want(line) ? (w.done(), false) : true));
  }
  waitFor(want: (l: string) => boolean): Promise<void> {
    if (this.seen.some(want)) return Promise.resolve();
    return new Promise((done) => this.waiters.push({ want, done }));
  }
}

/** Starts a program in a namespace; resolves once `ready(line)` holds for a line of its stdout or stderr. */
export function run(n: string, argv: string[], ready: (l: string) => boolean): Promise<Lines> {
  const child = spawn('ip', ['netns', 'exec', n, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  probeChildren.push(child);
  const lines = new Lines();
  return new Promise((resolve, reject) => {
    for (const stream of [child.stdout!, child.stderr!]) {
      let buf = '';
      stream.on('data', (d: Buffer) => {
        buf += d.toString();
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (ready(line)) resolve(lines);
          else lines.add(line);
        }
      });
    }
    child.once('exit', (c) => reject(new Error(`${argv[0]} in ${n} exited (${c})`)));
  });
}

/** A UDP listener per `[address, port]` in a namespace: prints each datagram it gets. */
export const listen = (n: string, binds: [string, number][]) =>
  run(
    n,
    [
      process.execPath,
      '-e',
      `const dgram = require('node:dgram');
       let left = ${binds.length};
       for (const [address, port] of ${JSON.stringify(binds)}) {
         const s = address.includes(':')
           ? dgram.createSocket({ type: 'udp6', ipv6Only: true })
           : dgram.createSocket('udp4');
         s.on('error', (e) => { console.error(String(e)); process.exit(1); });
         s.on('message', (m) => console.log(String(m)));
         s.bind({ address, port }, () => --left || console.log('ready'));
       }`,
    ],
    (l) => l === 'ready',
  );

/** Sends datagrams from a namespace, one after the other, each after the previous one left. */
export function send(n: string, datagrams: Datagram[]): void {
  const r = inNs(n, [
    process.execPath,
    '-e',
    `const dgram = require('node:dgram');
     const next = ([d, ...rest]) => {
       if (!d) return;
       const s = dgram.createSocket(d.to.includes(':') ? 'udp6' : 'udp4');
       s.bind({ address: d.from, port: d.fromPort ?? 0 }, () => {
         s.setBroadcast(true);
         const body = d.hex ? Buffer.from(d.hex, 'hex') : Buffer.from(d.body);
         s.send(body, d.port, d.to, (e) => { if (e) throw e; s.close(); next(rest); });
       });
     };
     next(${JSON.stringify(datagrams)});`,
  ]);
  expect(r.stderr).toBe('');
}

/** Sends probes then a marker the same way; what of the probes got in by the time the marker did. */
export async function arrived(
  lines: Lines,
  from: string,
  probes: Datagram[],
  marker: Datagram,
): Promise<string[]> {
  send(from, [...probes, marker]);
  await lines.waitFor((l) => l === marker.body);
  return probes.map((p) => p.body).filter((b) => lines.seen.includes(b));
}
