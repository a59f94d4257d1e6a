import { HearthError, type AgentVmSpec, type AgentVmStatus } from '@hearth/contract';

export interface AgentTarget {
  id: string;
  url: string;
  callback_token: string;
}

/** The manager's calls to a host agent. Transport failures become AGENT_UNREACHABLE. */
export class AgentClient {
  private async call<T>(
    host: AgentTarget,
    method: string,
    path: string,
    body?: unknown,
    text = false,
  ): Promise<T> {
    let res: Response;
    try {
      res = await fetch(new URL(path, host.url), {
        method,
        headers: {
          authorization: `Bearer ${host.callback_token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10 * 60_000),
      });
    } catch (e) {
      throw new HearthError(
        'AGENT_UNREACHABLE',
        `Reaching the agent of host ${host.id} at ${host.url} failed: ${(e as Error).message}.`,
      );
    }
    const payload = await res.text();
    if (!res.ok) {
      let message = payload;
      try {
        message = (JSON.parse(payload) as { error: string }).error;
      } catch {
        /* plain text */
      }
      throw new HearthError(
        'AGENT_ERROR',
        `The agent of host ${host.id} refused ${method} ${path}: ${message}`,
        {
          detail: { status: res.status },
        },
      );
    }
    return (text ? payload : JSON.parse(payload)) as T;
  }

  start(host: AgentTarget, spec: AgentVmSpec): Promise<AgentVmStatus> {
    return this.call(host, 'POST', `/agent/v1/vms/${spec.id}/start`, spec);
  }
  stop(host: AgentTarget, id: string, force: boolean, timeoutMs: number): Promise<AgentVmStatus> {
    return this.call(host, 'POST', `/agent/v1/vms/${id}/stop`, { force, timeoutMs });
  }
  pause(host: AgentTarget, id: string): Promise<AgentVmStatus> {
    return this.call(host, 'POST', `/agent/v1/vms/${id}/pause`, {});
  }
  resume(host: AgentTarget, id: string): Promise<AgentVmStatus> {
    return this.call(host, 'POST', `/agent/v1/vms/${id}/resume`, {});
  }
  delete(host: AgentTarget, id: string): Promise<unknown> {
    return this.call(host, 'DELETE', `/agent/v1/vms/${id}`);
  }
  logs(host: AgentTarget, id: string, tail: number): Promise<string> {
    return this.call(host, 'GET', `/agent/v1/vms/${id}/logs?tail=${tail}`, undefined, true);
  }
}
