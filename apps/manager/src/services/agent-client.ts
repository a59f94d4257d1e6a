import {
  errorCatalogue,
  HearthError,
  type AgentSnapshotResult,
  type AgentVmSpec,
  type AgentVmStatus,
  type ErrorCode,
} from '@hearth/contract';
import { HostLiveness } from './host-liveness.ts';

export interface AgentTarget {
  id: string;
  url: string;
  callback_token: string;
}

/** How long a call waits for a host whose agent has not (yet) spoken to this manager. */
export const HOST_WAIT_MS = 15_000;

/**
 * The manager's calls to a host agent. Each call goes to the address the agent last registered
 * with this manager process, waiting (bounded) for an agent that has not spoken since the manager
 * started or since a call to it failed; a host that stays away is a retryable HOST_UNAVAILABLE. A
 * refused connection (the agent is restarting) is retried once the agent is back, which is safe
 * because every agent call is idempotent; other transport failures become AGENT_UNREACHABLE.
 */
export class AgentClient {
  constructor(
    readonly live: HostLiveness = new HostLiveness(),
    private readonly waitMs = HOST_WAIT_MS,
  ) {}

  /** The host's current address, or HOST_UNAVAILABLE after a bounded wait for its agent. */
  ready(host: AgentTarget & { name?: string }, what: string): Promise<AgentTarget> {
    return this.live.require(host, this.waitMs, what);
  }

  private async send(
    host: AgentTarget & { name?: string },
    method: string,
    path: string,
    init: { body?: BodyInit | null; headers?: Record<string, string>; signal?: AbortSignal },
  ): Promise<{ res: Response; target: AgentTarget }> {
    // A streamed body can be read once: such a request is never sent twice.
    const retryable = init.body === undefined || init.body === null || typeof init.body === 'string';
    for (let attempt = 0; ; attempt++) {
      const target = await this.ready(host, `Reaching the agent of host ${host.name ?? host.id}`);
      try {
        const res = await fetch(new URL(path, target.url), {
          method,
          headers: { authorization: `Bearer ${target.callback_token}`, ...init.headers },
          body: init.body ?? null,
          signal: init.signal ?? null,
          ...(init.body && typeof init.body !== 'string' ? { duplex: 'half' } : {}),
        } as RequestInit);
        return { res, target };
      } catch (e) {
        if (init.signal?.aborted) throw e;
        this.live.lost(target.id);
        if (refused(e)) {
          if (retryable && attempt === 0) continue;
          throw new HearthError(
            'HOST_UNAVAILABLE',
            `Reaching the agent of host ${host.name ?? host.id} at ${target.url} failed: it refused the connection (restarting?); nothing was changed.`,
            { retryAfterS: 5, detail: { host: target.id } },
          );
        }
        throw new HearthError(
          'AGENT_UNREACHABLE',
          `Reaching the agent of host ${target.id} at ${target.url} failed: ${(e as Error).message}.`,
        );
      }
    }
  }

  private async call<T>(
    host: AgentTarget,
    method: string,
    path: string,
    body?: unknown,
    text = false,
  ): Promise<T> {
    const { res, target } = await this.send(host, method, path, {
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
      signal: AbortSignal.timeout(10 * 60_000),
    });
    const payload = await res.text();
    if (!res.ok) throw this.failure(target, method, path, res.status, payload);
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
    const { res, target } = await this.send(host, method, path, init);
    if (!res.ok) throw this.failure(target, method, path, res.status, await res.text());
    return res;
  }

  /**
   * A 503 without a catalogue code is the agent's server refusing work while it shuts down (the
   * handler never ran): retryable, and the host is away until it speaks again.
   */
  private failure(target: AgentTarget, method: string, path: string, status: number, payload: string) {
    const e = agentError(target, method, path, status, payload);
    if (status !== 503 || e.code !== 'AGENT_ERROR') return e;
    this.live.lost(target.id);
    return new HearthError(
      'HOST_UNAVAILABLE',
      `Reaching the agent of host ${target.id} failed: it is shutting down; nothing was changed.`,
      { retryAfterS: 5, detail: { host: target.id } },
    );
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

/** The connection was refused: nothing listens at the address (the agent is down or restarted elsewhere). */
function refused(e: unknown): boolean {
  const cause = (e as { cause?: { code?: string; errors?: { code?: string }[] } }).cause;
  return cause?.code === 'ECONNREFUSED' || Boolean(cause?.errors?.some((x) => x.code === 'ECONNREFUSED'));
}
