import type { VmSample } from '@hearth/contract';
import {
  hostAgentRoutes,
  imageRoutes,
  routePath,
  type AgentTlsMaterial,
  type AgentVmStatus,
  type HostInventory,
  type RegisterHostBody,
  type RouteInput,
  type RouteOutput,
} from '@hearth/contract';
import type { ImageContent } from './image-cache.ts';

/** The manager's routes an agent calls with JSON (registration, heartbeat, status reports). */
type AgentCalls = keyof HostAgentRoutes;
type HostAgentRoutes = typeof hostAgentRoutes;

/**
 * One request with a JSON body over node:http(s), its answer read whole. The agent's steady
 * traffic (heartbeats, status reports) stays off `fetch`: loading fetch's HTTP stack (undici, its
 * WebAssembly parser and the code it compiles) costs an idle agent ~10 MiB of RSS for good.
 */
async function requestJson(
  url: URL,
  o: { method: string; headers: Record<string, string>; body: string | undefined; timeoutMs: number },
): Promise<{ status: number; text: string }> {
  const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  const headers =
    o.body === undefined ? o.headers : { ...o.headers, 'content-length': String(Buffer.byteLength(o.body)) };
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: o.method, headers, signal: AbortSignal.timeout(o.timeoutMs) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

/** The manager answered with an error status. */
export class ManagerCallError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Manager URLs from the agent's setting: several replicas' (repeated `--manager`, or separated by
 * commas or spaces), in order; duplicates dropped.
 */
export function managerUrls(setting: string | readonly string[]): string[] {
  const all = (typeof setting === 'string' ? [setting] : setting).flatMap((s) => s.split(/[\s,]+/));
  return [...new Set(all.filter(Boolean))];
}

/** An answer that says this manager replica cannot serve now (another one may). */
const REPLICA_DOWN = new Set([502, 503, 504]);

/**
 * The agent's calls to the manager. Failures throw; callers decide whether to retry. With several
 * manager replicas a call goes to the one that answered last; when it does not answer (transport
 * error, or 502/503/504) the call moves on to the next URL, round the list once, and the one that
 * answers becomes the current one. Every call is safe to send again: registration, heartbeats and
 * status reports carry whole states.
 */
export class ManagerClient {
  private readonly urls: string[];
  private current = 0;

  constructor(
    baseUrl: string | readonly string[],
    private token: string,
  ) {
    this.urls = managerUrls(baseUrl);
    if (!this.urls.length) throw new Error('no manager URL');
  }

  /** The manager URL calls go to now. */
  get baseUrl(): string {
    return this.urls[this.current]!;
  }

  /** `fn` against each URL from the current one on, until one answers; the last failure is thrown. */
  private async failover<T>(fn: (base: string) => Promise<T>, down: (t: T) => boolean): Promise<T> {
    let last: unknown = null;
    for (let i = 0; i < this.urls.length; i++) {
      const at = (this.current + i) % this.urls.length;
      try {
        const out = await fn(this.urls[at]!);
        if (down(out) && i < this.urls.length - 1) continue;
        this.current = at;
        return out;
      } catch (e) {
        last = e;
      }
    }
    throw last;
  }

  setToken(token: string): void {
    this.token = token;
  }

  private async call<K extends AgentCalls>(
    id: K,
    input: RouteInput<HostAgentRoutes[K]>,
  ): Promise<RouteOutput<HostAgentRoutes[K]>> {
    const { method } = hostAgentRoutes[id];
    const path = routePath(hostAgentRoutes[id].path, input);
    const { status, text } = await this.failover(
      (base) =>
        requestJson(new URL(path, base), {
          method,
          headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
          body: JSON.stringify(input.body),
          timeoutMs: 15_000,
        }),
      (r) => REPLICA_DOWN.has(r.status),
    );
    if (status < 200 || status >= 300) {
      throw new ManagerCallError(status, `${method} ${path} failed with ${status}: ${text.slice(0, 500)}`);
    }
    return JSON.parse(text) as RouteOutput<HostAgentRoutes[K]>;
  }

  register(
    body: RegisterHostBody,
  ): Promise<{ host: { id: string }; agentToken: string; tls?: AgentTlsMaterial }> {
    return this.call('registerHost', { body });
  }

  heartbeat(
    hostId: string,
    inventory: HostInventory,
    vms: AgentVmStatus[],
    samples: VmSample[] = [],
  ): Promise<{ ok: boolean; networks?: string[] }> {
    return this.call('heartbeat', { params: { id: hostId }, body: { inventory, vms, samples } });
  }

  /**
   * An image's content, streamed (the caller verifies its sha256), over node:http(s) like every
   * other call: `fetch` needs WebAssembly, which the agent's V8 flags (lite mode) leave out.
   */
  fetchImage(imageId: string): Promise<ImageContent> {
    const path = routePath(imageRoutes.downloadImageContent.path, { params: { id: imageId } });
    return this.failover(
      async (base) => {
        const url = new URL(path, base);
        const { request } =
          url.protocol === 'https:' ? await import('node:https') : await import('node:http');
        return new Promise<ImageContent>((resolve, reject) => {
          const req = request(url, { headers: { authorization: `Bearer ${this.token}` } }, (res) =>
            resolve({ status: res.statusCode ?? 0, body: res }),
          );
          req.on('error', reject);
          req.end();
        });
      },
      (c) => {
        // A replica that cannot serve: its body is dropped and the next one is asked.
        const down = REPLICA_DOWN.has(c.status);
        if (down) (c.body as { resume?: () => void }).resume?.();
        return down;
      },
    );
  }

  report(hostId: string, vms: AgentVmStatus[]): Promise<unknown> {
    return this.call('reportVmStatus', { params: { id: hostId }, body: { vms } });
  }
}
