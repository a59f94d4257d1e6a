import {
  routePath,
  routes,
  type AgentVmStatus,
  type HostInventory,
  type RegisterHostBody,
  type RouteInput,
  type RouteOutput,
  type Routes,
} from '@hearth/contract';

/** The manager's routes an agent calls with JSON (registration, heartbeat, status reports). */
type AgentCalls = 'registerHost' | 'heartbeat' | 'reportVmStatus';

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
    const res = await fetch(new URL(path, this.baseUrl), {
      method,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(input.body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    if (!res.ok) {
      throw new ManagerCallError(
        res.status,
        `${method} ${path} failed with ${res.status}: ${text.slice(0, 500)}`,
      );
    }
    return JSON.parse(text) as RouteOutput<Routes[K]>;
  }

  register(body: RegisterHostBody): Promise<{ host: { id: string }; agentToken: string }> {
    return this.call('registerHost', { body });
  }

  heartbeat(
    hostId: string,
    inventory: HostInventory,
    vms: AgentVmStatus[],
  ): Promise<{ ok: boolean; networks?: string[] }> {
    return this.call('heartbeat', { params: { id: hostId }, body: { inventory, vms } });
  }

  /** An image's content, streamed (the caller verifies its sha256). */
  fetchImage(imageId: string): Promise<Response> {
    const path = routePath(routes.downloadImageContent.path, { params: { id: imageId } });
    return fetch(new URL(path, this.baseUrl), { headers: { authorization: `Bearer ${this.token}` } });
  }

  report(hostId: string, vms: AgentVmStatus[]): Promise<unknown> {
    return this.call('reportVmStatus', { params: { id: hostId }, body: { vms } });
  }
}
