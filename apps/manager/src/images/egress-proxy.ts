import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HearthError } from '@hearth/contract';
import { resolveChecked, type ImportAllowList } from './egress-guard.ts';

/** Hop-by-hop and proxy headers a forward proxy does not pass on. */
const HOP = new Set(['proxy-connection', 'proxy-authorization', 'connection', 'keep-alive', 'te', 'upgrade']);

/** `host:port` / `[v6]:port` of a CONNECT request. */
function splitAuthority(authority: string): { host: string; port: number } | null {
  const m = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(authority);
  return m ? { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) } : null;
}

/**
 * The forward proxy a registry tool (skopeo) is made to use: every host it asks for — the
 * registry, each redirect target, over CONNECT (https) or an absolute-URI request (http) — is
 * resolved here, checked by the import address guard and connected to at a checked address.
 * The first refusal is kept, so the import fails with it rather than with the tool's own words.
 */
export class EgressProxy {
  /** The first destination the guard refused. */
  refusal: HearthError | null = null;
  /** Connection failures (not refusals), worded as the tool words them, for the error mapping. */
  readonly failures: string[] = [];
  /** The loopback TCP port, when started with `tcp` (for a tool outside a network namespace). */
  tcpPort: number | null = null;
  private readonly sockets = new Set<Duplex>();
  private readonly servers: Server[] = [];
  private disposed = false;

  private constructor(
    private readonly allow: ImportAllowList,
    private readonly what: string,
    private readonly dir: string,
    /** Unix socket the proxy listens on (not network-namespaced, so reachable from any). */
    readonly socketPath: string,
  ) {}

  /** Listens on a unix socket in a fresh private directory; `tcp` adds a loopback TCP port. */
  static async start(allow: ImportAllowList, what: string, opts: { tcp?: boolean } = {}) {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-egress-'));
    const proxy = new EgressProxy(allow, what, dir, join(dir, 'proxy.sock'));
    try {
      await proxy.listen(proxy.socketPath);
      if (opts.tcp) proxy.tcpPort = await proxy.listen(0);
      return proxy;
    } catch (e) {
      await proxy.dispose();
      throw e;
    }
  }

  private listen(at: string | number): Promise<number | null> {
    const srv = createServer((req, res) => void this.forward(req, res));
    srv.on(
      'connect',
      (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.tunnel(req, socket, head),
    );
    srv.on('connection', (s: Socket) => this.track(s));
    this.servers.push(srv);
    return new Promise((resolve, reject) => {
      srv.once('error', reject);
      const done = () => {
        const a = srv.address();
        resolve(typeof a === 'object' && a ? (a as AddressInfo).port : null);
      };
      if (typeof at === 'number') srv.listen(at, '127.0.0.1', done);
      else srv.listen(at, done);
    });
  }

  private track(s: Duplex): void {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
    s.on('error', () => s.destroy());
  }

  /** Resolves and checks; records a refusal or a failure and returns null when not to connect. */
  private async destination(host: string, port: number): Promise<string | null> {
    try {
      const [first] = await resolveChecked(this.allow, this.what, host, port);
      return first!.address;
    } catch (e) {
      if (e instanceof HearthError) this.refusal ??= e;
      else this.failures.push(`dial tcp ${host}:${port}: ${describe(e)}`);
      return null;
    }
  }

  private async tunnel(req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    this.track(client);
    const to = splitAuthority(req.url ?? '');
    if (!to) return void client.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    const address = await this.destination(to.host, to.port);
    if (!address) return void client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
    // Half-open: the destination ending its side must not close ours before the client has
    // read everything and ended too.
    const upstream = connect({ host: address, port: to.port, allowHalfOpen: true });
    this.track(upstream);
    upstream.once('error', (e) => {
      this.failures.push(`dial tcp ${req.url}: ${describe(e)}`);
      client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
    });
    upstream.once('connect', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      // An end is passed on after what is still buffered for the other side (destroying it on
      // the first close cut the last bytes of a blob when the reader was slow); a failure on
      // either side ends both at once.
      const end = () => (client.destroy(), upstream.destroy());
      pipeline(upstream, client).catch(end);
      pipeline(client, upstream).catch(end);
    });
  }

  /** A plain-HTTP request in absolute form (`GET http://host/path`), sent on to a checked address. */
  private async forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      return void res.writeHead(400).end();
    }
    if (url.protocol !== 'http:') return void res.writeHead(400).end();
    const port = Number(url.port) || 80;
    const address = await this.destination(url.hostname, port);
    if (!address) return void res.writeHead(403).end();
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !HOP.has(k)));
    const upstream = request(
      {
        host: address,
        port,
        method: req.method,
        path: `${url.pathname}${url.search}`,
        headers,
        agent: false,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        pipeline(up, res).catch(() => res.destroy());
      },
    );
    upstream.on('error', (e) => {
      this.failures.push(`dial tcp ${url.host}: ${describe(e)}`);
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    pipeline(req, upstream).catch(() => upstream.destroy());
  }

  /** Closes the listeners and every connection, and removes the socket's directory. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.map((srv) => new Promise<void>((r) => srv.close(() => r()))));
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** A connection error in the words the registry-error mapping looks for. */
function describe(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return 'connect: connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'no such host';
  return (e as Error).message;
}
