import { spawn } from 'node:child_process';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ImportAllowList } from './egress-guard.ts';
import { EgressProxy } from './egress-proxy.ts';
import { guardedCommand } from './egress-sandbox.ts';

// A tool in the import sandbox reads a body that its destination sends and then ends at once,
// slowly (as skopeo does when writing a blob to a busy disk): every byte must reach it. Relays
// that closed one side as soon as the other closed cut the last buffered bytes ("unexpected EOF").
const SIZE = 2_000_000;
const ROUNDS = 20;
const TOOL = String.raw`
const net = require('node:net');
const [port, rounds] = process.argv.slice(1).map(Number);
(async () => {
  for (let i = 0; i < rounds; i++) {
    const n = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      let got = 0;
      s.write('send\n');
      s.on('data', (d) => {
        got += d.length;
        s.pause();
        setTimeout(() => s.resume(), 1);
      });
      s.on('end', () => s.end());
      s.on('close', () => resolve(got));
      s.on('error', () => {});
    });
    process.stdout.write(n + '\n');
  }
})();
`;

let server: Server;
let proxy: EgressProxy;
let port: number;

beforeAll(async () => {
  const body = Buffer.alloc(SIZE, 7);
  server = createServer((s) => {
    s.on('error', () => {});
    s.once('data', () => s.end(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  proxy = await EgressProxy.start(new ImportAllowList([`127.0.0.1:${port}`]), 'Importing x', { tcp: true });
});
afterAll(async () => {
  await proxy?.dispose();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
});

it('passes a slow reader every byte of a body whose sender ends right after it', async () => {
  const cmd = await guardedCommand(proxy, `127.0.0.1:${port}`, process.execPath, [
    '-e',
    TOOL,
    String(port),
    String(ROUNDS),
  ]);
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(cmd.bin, cmd.args, { env: cmd.env, stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(text));
  });
  expect(out.trim().split('\n').map(Number)).toEqual(Array(ROUNDS).fill(SIZE));
}, 120_000);
