import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardedBridges, portTable, portsText } from './net.ts';

// A port table loaded by the real nft in a namespace standing in for the host: a bridge with a
// "guest" namespace on it (a veth instead of a TAP), and route_localnet on the bridge as the agent
// sets it.
const tag = randomBytes(3).toString('hex');
const host = `hnh${tag}`;
const guest = `hng${tag}`;
const bridge = `hbx${tag}`;
const o = randomInt(2, 250);
const [gw, guestIp] = [`10.251.${o}.1`, `10.251.${o}.2`];
const hostPort = randomInt(20000, 30000);
const children: ChildProcess[] = [];

const ip = (...a: string[]) => execFileSync('ip', a, { stdio: 'pipe' });
const inNs = (ns: string, argv: string[], input?: string) =>
  spawnSync('ip', ['netns', 'exec', ns, ...argv], { encoding: 'utf8', input, timeout: 20_000 });
const loadTable = (text: string) => {
  const r = inNs(host, ['nft', '-f', '-'], text);
  expect(r.stderr).toBe('');
};

/** Starts a Node program in a namespace; resolves once it printed `ready`. */
function node(ns: string, code: string, onLine: (l: string) => void = () => undefined): Promise<void> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', code], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line === 'ready') resolve();
        else onLine(line);
      }
    });
    child.once('exit', (c) => reject(new Error(`test program exited (${c})`)));
  });
}

beforeAll(async () => {
  ip('netns', 'add', host);
  ip('netns', 'add', guest);
  for (const ns of [host, guest]) ip('-n', ns, 'link', 'set', 'lo', 'up');
  ip('-n', host, 'link', 'add', bridge, 'type', 'bridge');
  ip('-n', host, 'addr', 'add', `${gw}/24`, 'dev', bridge);
  ip('-n', host, 'link', 'set', bridge, 'up');
  ip('-n', host, 'link', 'add', 'port0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', guest);
  ip('-n', host, 'link', 'set', 'port0', 'master', bridge, 'up');
  ip('-n', guest, 'addr', 'add', `${guestIp}/24`, 'dev', 'eth0');
  ip('-n', guest, 'link', 'set', 'eth0', 'up');
  ip('-n', guest, 'route', 'add', 'default', 'via', gw);
  inNs(host, ['sh', '-c', `echo 1 > /proc/sys/net/ipv4/conf/${bridge}/route_localnet`]);
  await node(
    guest,
    `require('node:http').createServer((q, s) => s.end('from ' + q.socket.remoteAddress + '\\n'))
      .listen(8080, '${guestIp}', () => console.log('ready'))`,
  );
});

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  spawnSync('ip', ['netns', 'del', host]);
  spawnSync('ip', ['netns', 'del', guest]);
});

describe('published ports on loopback', () => {
  const fetchFromHost = (addr: string) =>
    inNs(host, ['curl', '-sS', '--max-time', '10', `http://${addr}:${hostPort}/`]).stdout;

  it('forward 127.0.0.1 and the host’s own addresses to the guest, which sees the bridge’s address', () => {
    expect(fetchFromHost('127.0.0.1')).toBe('');
    loadTable(portsText('vm_a', { ip: guestIp, bridge }, [{ host: hostPort, guest: 8080, protocol: 'tcp' }]));
    expect(fetchFromHost('127.0.0.1')).toBe(`from ${gw}\n`);
    expect(fetchFromHost(gw)).toBe(`from ${gw}\n`);
  });

  it('keep a neighbour on the bridge away from services the host binds to loopback', async () => {
    // The neighbour routes 127.0.0.0/8 to the host, as a hostile guest can.
    ip('-n', guest, 'route', 'del', 'local', '127.0.0.0/8', 'dev', 'lo', 'table', 'local');
    ip('-n', guest, 'route', 'del', 'local', '127.0.0.1', 'dev', 'lo', 'table', 'local');
    ip('-n', guest, 'route', 'add', '127.0.0.0/8', 'via', gw);
    inNs(guest, ['sh', '-c', 'echo 1 > /proc/sys/net/ipv4/conf/all/route_localnet']);
    inNs(guest, ['sh', '-c', 'echo 1 > /proc/sys/net/ipv4/conf/eth0/route_localnet']);
    const got: string[] = [];
    let arrived: (l: string) => void = () => undefined;
    const port = randomInt(30000, 40000);
    await node(
      host,
      `const s = require('node:dgram').createSocket('udp4');
       s.on('message', (m) => console.log(String(m)));
       s.bind(${port}, '0.0.0.0', () => console.log('ready'));`,
      (l) => {
        got.push(l);
        arrived(l);
      },
    );
    // Sends one datagram to the host's loopback, then a marker to its bridge address over the
    // same path: once the marker is in, the first one had its chance.
    const probe = async (n: number) => {
      const marker = new Promise<void>((resolve) => (arrived = (l) => l === `marker-${n}` && resolve()));
      const r = inNs(guest, [
        process.execPath,
        '-e',
        `const s = require('node:dgram').createSocket('udp4');
         s.send('loopback-${n}', ${port}, '127.0.0.1', () =>
           s.send('marker-${n}', ${port}, '${gw}', () => s.close()));`,
      ]);
      expect(r.status).toBe(0);
      await marker;
      return got.includes(`loopback-${n}`);
    };
    // Without the guard (no port table) the datagram does reach loopback: the probe works.
    inNs(host, ['nft', 'delete', 'table', 'ip', portTable('vm_a')]);
    expect(await probe(1)).toBe(true);
    loadTable(portsText('vm_a', { ip: guestIp, bridge }, [{ host: hostPort, guest: 8080, protocol: 'tcp' }]));
    expect(await probe(2)).toBe(false);
  });

  it('name the bridges each port table guards, so the last one can switch loopback routing off', () => {
    const p = { host: hostPort, guest: 80, protocol: 'udp' as const };
    loadTable(portsText('vm_b', { ip: '10.251.0.9', bridge: 'hb-x.y' }, [p]));
    // What agents made before loopback forwarding: no guard.
    loadTable(
      `table ip ${portTable('vm_c')} {\n  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n  }\n}\n`,
    );
    loadTable('table ip other {\n  chain loopback_6869 {\n    type filter hook input priority 0;\n  }\n}\n');
    const listing = inNs(host, ['nft', 'list', 'chains', 'ip']).stdout;
    expect(guardedBridges(listing)).toEqual(
      new Map([
        [portTable('vm_a'), new Set([bridge])],
        [portTable('vm_b'), new Set(['hb-x.y'])],
        [portTable('vm_c'), new Set()],
      ]),
    );
  });
});
