import {
  errorCatalogue,
  HearthError,
  type AgentSnapshotResult,
  type AgentVmSpec,
  type AgentVmStatus,
  type ErrorCode,
} from '@hearth/contract';

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
    if (!res.ok) throw agentError(host, method, path, res.status, payload);
    return (text ? payload : JSON.parse(payload)) as T;
  }

  /**
   * A raw request to the agent for streaming routes: the response is returned unread when ok
   * (the caller pipes it), and turned into the right HearthError otherwise.
   */
  async raw(
    host: AgentTarget,
    method: string,
    path: string,
    init: { body?: BodyInit | null; headers?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(new URL(path, host.url), {
        method,
        headers: { authorization: `Bearer ${host.callback_token}`, ...init.headers },
        body: init.body ?? null,
        signal: init.signal ?? null,
        ...(init.body ? { duplex: 'half' } : {}),
      } as RequestInit);
    } catch (e) {
      throw new HearthError(
        'AGENT_UNREACHABLE',
        `Reaching the agent of host ${host.id} at ${host.url} failed: ${(e as Error).message}.`,
      );
    }
    if (!res.ok) throw agentError(host, method, path, res.status, await res.text());
    return res;
  }

  json<T>(host: AgentTarget, method: string, path: string, body?: unknown): Promise<T> {
    return this.call(host, method, path, body);
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
  snapshot(host: AgentTarget, id: string, snapshotId: string): Promise<AgentSnapshotResult> {
    return this.call(host, 'POST', `/agent/v1/vms/${id}/snapshots/${snapshotId}`, {});
  }
  restore(host: AgentTarget, spec: AgentVmSpec, snapshotId: string): Promise<AgentVmStatus> {
    return this.call(host, 'POST', `/agent/v1/vms/${spec.id}/restore`, { spec, snapshotId });
  }
  deleteSnapshot(host: AgentTarget, snapshotId: string): Promise<unknown> {
    return this.call(host, 'DELETE', `/agent/v1/snapshots/${snapshotId}`);
  }
  logs(host: AgentTarget, id: string, tail: number): Promise<string> {
    return this.call(host, 'GET', `/agent/v1/vms/${id}/logs?tail=${tail}`, undefined, true);
  }
}

/** The agent answers `{error, code?}`; a catalogue code passes through as is (a guest's missing file stays a 404). */
export function agentError(
  host: AgentTarget,
  method: string,
  path: string,
  status: number,
  payload: string,
): HearthError {
  let message = payload;
  let code: string | undefined;
  try {
    const body = JSON.parse(payload) as { error: string; code?: string };
    message = body.error;
    code = body.code;
  } catch {
    /* plain text */
  }
  if (code && code in errorCatalogue && code !== 'INTERNAL') {
    return new HearthError(
      code as ErrorCode,
      `${message.charAt(0).toUpperCase()}${message.slice(1)}.`.replace(/\.\.$/, '.'),
    );
  }
  return new HearthError(
    'AGENT_ERROR',
    `The agent of host ${host.id} refused ${method} ${path}: ${message}`,
    {
      detail: { status },
    },
  );
}
