import { rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { loadSpec, matchPath, validate, type ApiSpec } from './spec.ts';
import { bad, FirecrackerModel, type Answer } from './rules.ts';

/**
 * A strict contract checker for Firecracker's API — a test double, not a VMM. It serves the
 * published API (../shared/firecracker/firecracker-api.yaml, loaded at run time) on a Unix
 * socket, validates every request against the spec's paths, methods and schemas, applies the
 * behaviour NOTES.md documents (FirecrackerModel), answers in Firecracker's shapes (204, 200
 * with a body, 400 `{"fault_message"}`), and keeps a log of every call for tests to assert on.
 */
export interface CheckerOptions {
  socketPath: string;
  /** Relative paths in requests resolve against this (Firecracker's working directory). */
  cwd?: string;
  id?: string;
  /** Default: the spec's own version. */
  version?: string;
  /** Calls (`PUT /drives/rootfs`) answered with an injected 400 fault. */
  failOn?: string[];
  /** Stop answering anything once the guest runs (watchdog tests). */
  hangAfterStart?: boolean;
  onAction?: (type: string) => void;
  /** A failed snapshot load: the real process exits, so should whoever hosts the checker. */
  onFatal?: () => void;
  onCall?: (call: CallRecord) => void;
}

export interface CallRecord {
  method: string;
  path: string;
  body: unknown;
  status: number;
  fault?: string;
}

export const VSOCK_HOST_PORT = 1073741824;

export class FirecrackerApiChecker {
  readonly calls: CallRecord[] = [];
  readonly model: FirecrackerModel;
  readonly spec: ApiSpec;
  private readonly failOn: Set<string>;
  private readonly vsockServers: { server: NetServer; path: string }[] = [];
  private server: Server | null = null;
  private closed = false;

  private constructor(private readonly opts: CheckerOptions) {
    this.spec = loadSpec();
    this.failOn = new Set(opts.failOn ?? []);
    this.model = new FirecrackerModel(
      opts.version ?? this.spec.info.version,
      opts.id ?? 'anonymous-instance',
      opts.cwd ?? process.cwd(),
      {
        vsock: (path) => this.listenVsock(path),
        action: (type) => opts.onAction?.(type),
      },
    );
  }

  static async start(opts: CheckerOptions): Promise<FirecrackerApiChecker> {
    const c = new FirecrackerApiChecker(opts);
    const server = createServer((req, res) => void c.serve(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.socketPath, () => resolve());
    });
    c.server = server;
    return c;
  }

  /** Calls that were refused: a driver under test should have none unless a test caused them. */
  get rejected(): CallRecord[] {
    return this.calls.filter((c) => c.status >= 400);
  }

  /** `METHOD /path` of every call, in order. */
  get sequence(): string[] {
    return this.calls.map((c) => `${c.method} ${c.path}`);
  }

  failNext(call: string): void {
    this.failOn.add(call);
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0]!;
    if (this.opts.hangAfterStart && this.model.started) return; // never answered
    let body: unknown = undefined;
    const answer = this.check(method, path, text, (b) => (body = b));
    const record: CallRecord = { method, path, body, status: answer.status };
    if (answer.status >= 400) record.fault = (answer.body as { fault_message?: string })?.fault_message;
    this.calls.push(record);
    this.opts.onCall?.(record);
    if (answer.body === undefined) res.writeHead(answer.status).end();
    else
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
    if (this.model.dead) setImmediate(() => this.opts.onFatal?.());
  }

  private check(method: string, path: string, text: string, keep: (b: unknown) => void): Answer {
    if (this.model.dead) return bad('The microVM is being torn down after a failed snapshot load.');
    const m = matchPath(this.spec, path);
    const op = m ? this.spec.paths[m.template]![method.toLowerCase()] : undefined;
    if (!m || !op) return bad(`Invalid request method and/or path: ${method} ${path}.`);
    const bodyParam = op.parameters?.find((p) => p.in === 'body');
    let body: Record<string, unknown> = {};
    if (method !== 'GET') {
      if (!text.trim()) {
        if (bodyParam?.required) return bad('The request body is empty.');
      } else {
        try {
          body = JSON.parse(text) as Record<string, unknown>;
        } catch (e) {
          return bad(
            `An error occurred when deserializing the json body of a request: ${(e as Error).message}`,
          );
        }
        keep(body);
        const errors = bodyParam?.schema ? validate(this.spec, body, bodyParam.schema) : [];
        if (errors.length) {
          return bad(`An error occurred when deserializing the json body of a request: ${errors.join('; ')}`);
        }
      }
    }
    if (this.failOn.has(`${method} ${path}`)) {
      return bad(`Injected by the contract checker: ${method} ${path} failed.`);
    }
    const answer = this.model.handle(method, m.template, m.params, body);
    // The checker holds itself to the spec too: a GET body that breaks its schema is a checker bug.
    const schema = op.responses[String(answer.status)]?.schema;
    if (method === 'GET' && answer.status === 200 && schema) {
      const errors = validate(this.spec, answer.body, schema, 'response');
      if (errors.length) return { status: 500, body: { fault_message: `checker bug: ${errors.join('; ')}` } };
    }
    return answer;
  }

  /** Hybrid vsock, host side: `CONNECT <port>\n` → `OK <n>\n`, then a guest that echoes. */
  private listenVsock(path: string): void {
    const server = createNetServer((sock) => {
      let head = '';
      const onData = (d: Buffer) => {
        head += d.toString('utf8');
        const nl = head.indexOf('\n');
        if (nl < 0) return;
        sock.off('data', onData);
        const m = /^CONNECT (\d+)$/.exec(head.slice(0, nl));
        if (!m) return void sock.destroy();
        // The greeting arrives in the same write as OK: a client must not lose it.
        sock.write(`OK ${VSOCK_HOST_PORT}\nguest:${m[1]}\n`);
        const rest = head.slice(nl + 1);
        if (rest) sock.write(rest);
        sock.on('data', (x) => sock.write(x));
      };
      sock.on('data', onData);
      sock.on('error', () => undefined);
    });
    server.listen(path);
    this.vsockServers.push({ server, path });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const v of this.vsockServers) {
      v.server.close();
      rmSync(v.path, { force: true });
    }
    const s = this.server;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    rmSync(this.opts.socketPath, { force: true });
  }
}
