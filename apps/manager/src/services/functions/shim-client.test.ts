import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { until } from '../../../../../test/helpers/vm.ts';
import { ShimClient, ShimClosed, ShimTimeout } from './shim-client.ts';

// The manager's multiplexing client against the real shims, run on the host on a loopback port
// (in an instance they listen in the guest and the stream goes through the agent), and against
// stand-ins for a shim from before multiplexing and for one that answers in tiny pieces.

const shim = (file: string) => fileURLToPath(new URL(`./shims/${file}`, import.meta.url));

// Two calls meet at a gate: the one with `wait` answers only once the other one ran, so they
// answer only if the shim runs calls on one connection side by side.
const NODE_HANDLER = `
let open;
const gate = new Promise((r) => (open = r));
exports.handler = async (event, context) => {
  console.log('hi from', context.awsRequestId);
  if (event.wait) await gate;
  else if (event.open) open();
  if (event.hang) await new Promise(() => {});
  if (event.print) for (let i = 0; i < 40; i++) process.stdout.write('x'.repeat(4096));
  if (event.bigint) return { n: 1n };
  return { echo: event.n, id: context.awsRequestId, text: 'ünïcødé ✓', len: (event.big ?? '').length };
};
`;
const PY_HANDLER = `
import threading
gate = threading.Event()

def handler(event, context):
    print("hi from", context.aws_request_id)
    if event.get("wait"):
        gate.wait()
    elif event.get("open"):
        gate.set()
    if event.get("hang"):
        threading.Event().wait()
    if event.get("print"):
        for _ in range(40):
            print("x" * 4096, end="")
    if event.get("bigint"):
        return {"n": object()}
    return {"echo": event.get("n"), "id": context.aws_request_id, "text": "ünïcødé ✓", "len": len(event.get("big", ""))}
`;

interface Answer {
  ok: boolean;
  result: { echo: number; id: string; text: string; len: number };
  logs: string;
  ms: number;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

/**
 * A connect function to a loopback port that counts the connections it made and keeps them, and
 * the largest single write (the agent refuses a WebSocket message past 1 MiB).
 */
function dialer(port: number) {
  const sockets: net.Socket[] = [];
  const d = { sockets, maxWrite: 0, connect: null as unknown as () => Promise<net.Socket> };
  d.connect = () =>
    new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1');
      const write = s.write.bind(s) as (chunk: Buffer) => boolean;
      s.write = ((chunk: Buffer) => {
        d.maxWrite = Math.max(d.maxWrite, chunk.length);
        return write(chunk);
      }) as typeof s.write;
      s.once('connect', () => {
        sockets.push(s);
        resolve(s);
      });
      s.once('error', reject);
    });
  return d;
}

/** Starts a real shim in `serve` mode with the handler as its task, and a client once it answers. */
async function startShim(bin: string, file: string, handlerFile: string, handler: string, source: string) {
  const dir = await mkdtemp(join(tmpdir(), 'hearth-shim-'));
  await writeFile(join(dir, handlerFile), source);
  const port = await freePort();
  const proc: ChildProcess = spawn(bin, [shim(file), 'serve', dir, handler, String(port)], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  cleanups.push(async () => {
    proc.kill('SIGKILL');
    await exited;
    await rm(dir, { recursive: true, force: true });
  });
  const d = dialer(port);
  const client = new ShimClient(d.connect);
  cleanups.push(() => client.close());
  // Like shimReady: the first call goes alone, and again until the shim listens.
  await until(
    `the ${file} shim answers a ping (stderr: ${stderr})`,
    () =>
      client.call({ op: 'ping' }, 10_000).then(
        () => true,
        () => false,
      ),
    60_000,
  );
  return { client, dialer: d, proc, exited };
}

const call = (c: ShimClient, n: number, event: Record<string, unknown> = {}, timeoutMs = 60_000) =>
  c.call<Answer>(
    {
      requestId: `req-${n}`,
      event: { n, ...event },
      timeoutMs,
      functionName: 'f',
      version: 1,
      memoryMib: 128,
    },
    timeoutMs,
  );

describe.each([
  ['node', process.execPath, 'node.mjs', 'index.js', 'index.handler', NODE_HANDLER],
  ['python', 'python3', 'python.py', 'main.py', 'main.handler', PY_HANDLER],
])('ShimClient with the %s shim', (_name, bin, file, handlerFile, handler, source) => {
  it('multiplexes concurrent calls on one connection, each answer and log to its own request', async () => {
    const s = await startShim(bin, file, handlerFile, handler, source);
    const connectionsAfterPing = s.dialer.sockets.length;
    // `wait` is sent first and can only finish after `open` ran: they must overlap.
    const waiting = call(s.client, 1, { wait: true });
    const rest = [2, 3, 4, 5].map((n) => call(s.client, n, n === 5 ? { open: true } : {}));
    const answers = await Promise.all([waiting, ...rest]);
    answers.forEach((a, i) => {
      expect(a.ok).toBe(true);
      expect(a.result).toEqual({ echo: i + 1, id: `req-${i + 1}`, text: 'ünïcødé ✓', len: 0 });
      expect(a.logs).toBe(`hi from req-${i + 1}\n`);
      expect(a.ms).toBeGreaterThanOrEqual(0);
    });
    expect(s.dialer.sockets.length).toBe(connectionsAfterPing);
    expect(connectionsAfterPing).toBe(1);
    expect(s.client.legacy).toBe(false);
  });

  it('a 3 MB event goes whole, beside small calls on the same stream', async () => {
    const s = await startShim(bin, file, handlerFile, handler, source);
    const big = 'é'.repeat(1_500_000);
    const [a, b] = await Promise.all([call(s.client, 1, { big }), call(s.client, 2)]);
    expect(a.result).toMatchObject({ echo: 1, len: big.length });
    expect(b.result).toMatchObject({ echo: 2, len: 0 });
    expect(s.dialer.sockets.length).toBe(1);
    expect(s.dialer.maxWrite).toBeLessThanOrEqual(1024 * 1024);
  });

  it('reconnects after the stream broke while idle; a break during a call fails that call', async () => {
    const s = await startShim(bin, file, handlerFile, handler, source);
    s.dialer.sockets[0]!.destroy();
    await until('the client saw the break', () => s.dialer.sockets[0]!.destroyed);
    expect((await call(s.client, 7)).result.echo).toBe(7);
    expect(s.dialer.sockets.length).toBe(2);

    const hung = call(s.client, 8, { hang: true }).catch((e: unknown) => e);
    s.dialer.sockets[1]!.destroy();
    expect(await hung).toBeInstanceOf(ShimClosed);
    expect((await call(s.client, 9)).result.echo).toBe(9);
  });

  it('a call past its deadline times out; the others on the stream are answered', async () => {
    const s = await startShim(bin, file, handlerFile, handler, source);
    const late = call(s.client, 1, { hang: true }, 1_000).catch((e: unknown) => e);
    expect(await late).toBeInstanceOf(ShimTimeout);
    expect((await call(s.client, 2)).result.echo).toBe(2);
    expect(s.dialer.sockets.length).toBe(1);
  });

  it('output past 64 KiB is cut with the marker; a return value JSON cannot carry is named', async () => {
    const s = await startShim(bin, file, handlerFile, handler, source);
    const loud = await call(s.client, 1, { print: true });
    expect(loud.ok).toBe(true);
    expect(loud.logs).toBe(
      `hi from req-1\n${'x'.repeat(64 * 1024 - 14)}\n[hearth: output past 64 KiB dropped]\n`,
    );
    const bad = (await call(s.client, 2, { bigint: true })) as unknown as {
      ok: boolean;
      error: { type: string };
    };
    expect(bad.ok).toBe(false);
    expect(bad.error.type).toBe('ResultNotSerializable');
    expect((await call(s.client, 3)).logs).toBe('hi from req-3\n');
  });

  it('the shim dying fails what waits, and a stopped client refuses new calls', async () => {
    const s = await startShim(bin, file, handlerFile, handler, source);
    const hung = call(s.client, 1, { hang: true }).catch((e: unknown) => e);
    s.proc.kill('SIGKILL');
    await s.exited;
    expect(await hung).toBeInstanceOf(ShimClosed);
    s.client.close();
    expect(await call(s.client, 2).catch((e: unknown) => e)).toBeInstanceOf(ShimClosed);
  });
});

describe('ShimClient with stand-in shims', () => {
  /** A server answering each connection's lines with `answer`, recording what it was sent. */
  async function server(onConn: (sock: net.Socket, lines: AsyncIterable<string>) => Promise<void>) {
    const srv = net.createServer((sock) => {
      const lines = (async function* () {
        let buf = '';
        for await (const d of sock) {
          buf += (d as Buffer).toString('utf8');
          let nl;
          while ((nl = buf.indexOf('\n')) >= 0) {
            yield buf.slice(0, nl);
            buf = buf.slice(nl + 1);
          }
        }
      })();
      onConn(sock, lines).catch(() => sock.destroy());
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => srv.close(() => r())));
    return (srv.address() as AddressInfo).port;
  }

  it('a shim from before multiplexing (one call per connection, no id) gets a connection per call', async () => {
    const port = await server(async (sock, lines) => {
      for await (const line of lines) {
        const req = JSON.parse(line) as { op?: string; event?: { n: number } };
        sock.end(JSON.stringify(req.op === 'ping' ? { ok: true } : { ok: true, result: req.event }) + '\n');
        return;
      }
    });
    const d = dialer(port);
    const client = new ShimClient(d.connect);
    cleanups.push(() => client.close());
    expect(await client.call({ op: 'ping' }, 10_000)).toEqual({ ok: true });
    expect(client.legacy).toBe(true);
    const answers = await Promise.all(
      [1, 2, 3].map((n) => client.call<{ result: { n: number } }>({ event: { n } }, 10_000)),
    );
    expect(answers.map((a) => a.result.n)).toEqual([1, 2, 3]);
    expect(d.sockets.length).toBe(4);
  });

  it('answers split anywhere (inside a UTF-8 character, several in one chunk) are put back together', async () => {
    const port = await server(async (sock, lines) => {
      const ids: string[] = [];
      for await (const line of lines) {
        ids.push((JSON.parse(line) as { id: string }).id);
        if (ids.length < 3) continue;
        // Three answers, sent in reverse order, one byte at a time.
        const bytes = Buffer.from(
          ids
            .reverse()
            .map((id) => JSON.stringify({ id, ok: true, text: `√ ${id} ✓` }) + '\n')
            .join(''),
        );
        for (let i = 0; i < bytes.length; i++) sock.write(bytes.subarray(i, i + 1));
      }
    });
    const client = new ShimClient(dialer(port).connect);
    cleanups.push(() => client.close());
    const answers = await Promise.all([1, 2, 3].map(() => client.call<{ text: string }>({}, 10_000)));
    expect(answers.map((a) => a.text)).toEqual(['√ 1 ✓', '√ 2 ✓', '√ 3 ✓']);
    expect(client.legacy).toBe(false);
  });
});
