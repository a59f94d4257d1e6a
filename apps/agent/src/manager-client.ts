import type { VmSample } from '@hearth/contract';
import {
  routePath,
  type AgentTlsMaterial,
  routes,
  type AgentVmStatus,
  type HostInventory,
  type RegisterHostBody,
  type RouteInput,
  type RouteOutput,
  type Routes,
} from '@hearth/contract';
import type { ImageContent } from './image-cache.ts';

/** The manager's routes an agent calls with JSON (registration, heartbeat, status reports). */
type AgentCalls = 'registerHost' | 'heartbeat' | 'reportVmStatus';

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

/** The agent's calls to the manager. Failures throw; callers decide whether to retry. */
export class ManagerClient {
  constructor(
    private readonly baseUrl: string,
    private token: string,
  ) {}

  setToken(token: string): void {
    this.token = token;
  }

  private async call<K extends AgentCalls>(
    id: K,
    input: RouteInput<Routes[K]>,
  ): Promise<RouteOutput<Routes[K]>> {
    const { method } = routes[id];
    const path = routePath(routes[id].path, input);
    const { status, text } = await requestJson(new URL(path, this.baseUrl), {
      method,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(input.body),
      timeoutMs: 15_000,
    });
    if (status < 200 || status >= 300) {
      throw new ManagerCallError(status, `${method} ${path} failed with ${status}: ${text.slice(0, 500)}`);
    }
    return JSON.parse(text) as RouteOutput<Routes[K]>;
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
  async fetchImage(imageId: string): Promise<ImageContent> {
    const url = new URL(
      routePath(routes.downloadImageContent.path, { params: { id: imageId } }),
      this.baseUrl,
    );
    const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
    return new Promise((resolve, reject) => {
      const req = request(url, { headers: { authorization: `Bearer ${this.token}` } }, (res) =>
        resolve({ status: res.statusCode ?? 0, body: res }),
      );
      req.on('error', reject);
      req.end();
    });
  }

  report(hostId: string, vms: AgentVmStatus[]): Promise<unknown> {
    return this.call('reportVmStatus', { params: { id: hostId }, body: { vms } });
  }
}
