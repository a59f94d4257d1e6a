import type { AgentVmStatus, HostInventory, RegisterHostBody } from '@hearth/contract';

/** The agent's calls to the manager. Failures throw; callers decide whether to retry. */
export class ManagerClient {
  constructor(
    private readonly baseUrl: string,
    private token: string,
  ) {}

  setToken(token: string): void {
    this.token = token;
  }

  private async call<T>(method: string, path: string, body: unknown): Promise<T> {
    const res = await fetch(new URL(path, this.baseUrl), {
      method,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} failed with ${res.status}: ${text.slice(0, 500)}`);
    return JSON.parse(text) as T;
  }

  register(body: RegisterHostBody): Promise<{ host: { id: string }; agentToken: string }> {
    return this.call('POST', '/v1/hosts/register', body);
  }

  heartbeat(
    hostId: string,
    inventory: HostInventory,
    vms: AgentVmStatus[],
  ): Promise<{ ok: boolean; networks?: string[] }> {
    return this.call('POST', `/v1/hosts/${hostId}/heartbeat`, { inventory, vms }) as Promise<{
      ok: boolean;
      networks?: string[];
    }>;
  }

  /** An image's content, streamed (the caller verifies its sha256). */
  fetchImage(imageId: string): Promise<Response> {
    return fetch(new URL(`/v1/images/${encodeURIComponent(imageId)}/content`, this.baseUrl), {
      headers: { authorization: `Bearer ${this.token}` },
    });
  }

  report(hostId: string, vms: AgentVmStatus[]): Promise<unknown> {
    return this.call('POST', `/v1/hosts/${hostId}/vm-status`, { vms });
  }
}
