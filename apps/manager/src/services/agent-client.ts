import {
  agentPath,
  agentRoutes,
  HearthError,
  type AgentInput,
  type AgentNetwork,
  type AgentOutput,
  type AgentRouteDef,
  type AgentRouteId,
  type AgentSnapshotResult,
  type AgentVmSpec,
  type AgentVmStatus,
  ErrorEnvelope,
} from '@hearth/contract';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { Agent } from 'undici';
import { agentError, refused, safeJson, tlsRefusal } from './agent-errors.ts';
import { HostLiveness } from './host-liveness.ts';
import { timings } from './metrics/timings.ts';
import { checkAgentIdentity, type AgentTrust } from '../tls/agent-ca.ts';

export interface AgentTarget {
  id: string;
  url: string;
  callback_token: string;
  /** The only certificates accepted from this host's agent (SHA-256, hex); absent or null: unpinned. */
  tls_pins?: string[] | null;
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
  /**
   * One connection pool per host, made for the certificates the host holds now: each checks that
   * the agent's certificate names that host and is pinned for it. When a host's pins change
   * (rotation, registration, removal) its pool is replaced, so no connection opened to a
   * certificate the host no longer holds is used again.
   */
  private readonly pools = new Map<string, { key: string; pool: Agent }>();

  constructor(
    readonly live: HostLiveness = new HostLiveness(),
    private readonly waitMs = HOST_WAIT_MS,
    /** The CAs agents' certificates must come from (pinned: never the system's roots). */
    private readonly trust: AgentTrust = { ca: [] },
  ) {}

  /**
   * TLS options for a connection to `host`'s agent: our CAs only, and the host's own certificate
   * (the one pinned for it, when its record has pins).
   */
  tlsFor(host: { id: string; tls_pins: string[] | null | undefined }): {
    ca: string[];
    checkServerIdentity: (name: string, cert: PeerCertificate) => Error | undefined;
  } {
    const pins = host.tls_pins ? [...host.tls_pins] : null;
    return {
      ca: this.trust.ca,
      checkServerIdentity: (name, cert) => checkAgentIdentity(host.id, pins, name, cert, checkServerIdentity),
    };
  }

  /**
   * The connection pool for `target`: the default for plain HTTP, one per host for TLS (its
   * pins). `stream` requests (follows) get pools without undici's timeout between body chunks,
   * since a quiet follow is not a dead one.
   */
  private dispatcher(target: AgentTarget, stream = false): Agent | undefined {
    const tls = target.url.startsWith('https:');
    if (!tls && !stream) return undefined;
    const slot = stream ? `${target.id}#stream` : target.id;
    const key = JSON.stringify(tls ? (target.tls_pins ?? null) : 'plain');
    const have = this.pools.get(slot);
    if (have?.key === key) return have.pool;
    if (have) this.close(have.pool);
    const pool = new Agent({
      ...(tls ? { connect: this.tlsFor({ id: target.id, tls_pins: target.tls_pins }) } : {}),
      ...(stream ? { bodyTimeout: 0 } : {}),
    });
    this.pools.set(slot, { key, pool });
    return pool;
  }

  /** Requests in flight on a replaced pool finish; it opens no connection and sends nothing more. */
  private close(pool: Agent): void {
    void pool.close().catch(() => undefined);
  }

  /** The host is gone: its connections close and it is not reachable until it registers again. */
  forget(hostId: string): void {
    this.live.lost(hostId);
    for (const slot of [hostId, `${hostId}#stream`]) {
      const have = this.pools.get(slot);
      this.pools.delete(slot);
      if (have) this.close(have.pool);
    }
  }

  /** Closes the connection pools. Idempotent. */
  async dispose(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.pool.destroy().catch(() => undefined)));
  }

  /** The host's current address, or HOST_UNAVAILABLE after a bounded wait for its agent. */
  ready(host: AgentTarget & { name?: string }, what: string): Promise<AgentTarget> {
    return this.live.require(host, this.waitMs, what);
  }

  private async send(
    host: AgentTarget & { name?: string },
    method: string,
    path: string,
    init: {
      body?: BodyInit | null;
      headers?: Record<string, string>;
      signal?: AbortSignal;
      stream?: boolean;
    },
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
          dispatcher: this.dispatcher(target, init.stream),
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
        const cause = (e as { cause?: Error }).cause;
        if (cause && tlsRefusal(cause)) {
          throw new HearthError(
            'AGENT_CERTIFICATE_INVALID',
            `Reaching the agent of host ${host.name ?? host.id} at ${target.url} failed: its TLS certificate was refused (${cause.message}); nothing was sent.`,
            { detail: { host: target.id } },
          );
        }
        throw new HearthError(
          'AGENT_UNREACHABLE',
          `Reaching the agent of host ${target.id} at ${target.url} failed: ${cause?.message ?? (e as Error).message}.`,
        );
      }
    }
  }

  /** A JSON (or text) request to the agent; failures become the right HearthError. */
  private async request<T>(
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
    if (!res.ok) throw this.failure(target, method, path, res, payload);
    return (text ? payload : JSON.parse(payload)) as T;
  }

  /** Calls an agent route from the contract's table by id: typed input and output. */
  async call<K extends AgentRouteId>(
    host: AgentTarget,
    id: K,
    input: AgentInput<K>,
  ): Promise<AgentOutput<K>> {
    const route = agentRoutes[id] as AgentRouteDef;
    const body = (input as { body?: unknown }).body;
    const t0 = performance.now();
    try {
      const out = await this.request<AgentOutput<K>>(
        host,
        route.method,
        agentPath(id, input as never),
        body,
        route.response === null,
      );
      timings.emit('agentCall', id, (performance.now() - t0) / 1000, true);
      return out;
    } catch (e) {
      timings.emit('agentCall', id, (performance.now() - t0) / 1000, false);
      throw e;
    }
  }

  /**
   * A streaming request to an agent route (exec output, file download or upload): the response
   * is returned unread when ok (the caller pipes it), and turned into the right HearthError
   * otherwise.
   */
  async raw<K extends AgentRouteId>(
    host: AgentTarget,
    id: K,
    input: Pick<AgentInput<K>, 'params' | 'query'>,
    init: {
      body?: BodyInit | null;
      headers?: Record<string, string>;
      signal?: AbortSignal;
      /** A follow: chunks may be hours apart. */
      stream?: boolean;
    } = {},
  ): Promise<Response> {
    const method = agentRoutes[id].method;
    const path = agentPath(id, input);
    const t0 = performance.now();
    // Streams are timed to their response headers: the body may flow for hours.
    const done = (ok: boolean) => timings.emit('agentCall', id, (performance.now() - t0) / 1000, ok);
    const { res, target } = await this.send(host, method, path, init).catch((e: unknown) => {
      done(false);
      throw e;
    });
    done(res.ok);
    if (!res.ok) throw this.failure(target, method, path, res, await res.text());
    return res;
  }

  /**
   * A 503 without the catalogue's envelope is the agent's server refusing work while it shuts
   * down (the handler never ran): retryable, and the host is away until it speaks again.
   */
  private failure(target: AgentTarget, method: string, path: string, res: Response, payload: string) {
    const envelope = ErrorEnvelope.safeParse(safeJson(payload));
    if (res.status === 503 && !envelope.success) {
      this.live.lost(target.id);
      return new HearthError(
        'HOST_UNAVAILABLE',
        `Reaching the agent of host ${target.id} failed: it is shutting down; nothing was changed.`,
        { retryAfterS: 5, detail: { host: target.id } },
      );
    }
    const e = agentError(target, method, path, res.status, payload);
    const retryAfter = Number(res.headers.get('retry-after'));
    return res.headers.has('retry-after') && Number.isFinite(retryAfter)
      ? Object.assign(e, { retryAfterS: retryAfter })
      : e;
  }

  start(host: AgentTarget, spec: AgentVmSpec): Promise<AgentVmStatus> {
    return this.call(host, 'startVm', { params: { id: spec.id }, body: spec });
  }
  stop(host: AgentTarget, id: string, force: boolean, timeoutMs: number): Promise<AgentVmStatus> {
    return this.call(host, 'stopVm', { params: { id }, body: { force, timeoutMs } });
  }
  pause(host: AgentTarget, id: string): Promise<AgentVmStatus> {
    return this.call(host, 'pauseVm', { params: { id } });
  }
  resume(host: AgentTarget, id: string): Promise<AgentVmStatus> {
    return this.call(host, 'resumeVm', { params: { id } });
  }
  delete(host: AgentTarget, id: string): Promise<{ ok: boolean }> {
    return this.call(host, 'deleteVm', { params: { id } });
  }
  snapshot(
    host: AgentTarget,
    id: string,
    snapshotId: string,
    kind: 'memory' | 'disk' = 'memory',
    /** `disk`: the volumes attached now (the host's spec of a stopped VM may be older). */
    volumes?: string[],
    type: 'full' | 'diff' = 'full',
  ): Promise<AgentSnapshotResult> {
    const query = { kind, type, ...(kind === 'disk' && volumes ? { volumes: volumes.join(',') } : {}) };
    return this.call(host, 'snapshotVm', { params: { id, snapshotId }, query });
  }
  /** `start: false`: a disk-only snapshot's disks are put back and the VM stays stopped. */
  restore(host: AgentTarget, spec: AgentVmSpec, snapshotId: string, start = true): Promise<AgentVmStatus> {
    return this.call(host, 'restoreVm', { params: { id: spec.id }, body: { spec, snapshotId, start } });
  }
  deleteSnapshot(host: AgentTarget, snapshotId: string): Promise<{ ok: boolean }> {
    return this.call(host, 'deleteSnapshot', { params: { snapshotId } });
  }
  logs(host: AgentTarget, id: string, tail: number): Promise<string> {
    return this.call(host, 'vmLogs', { params: { id }, query: { tail } });
  }
  netPolicy(
    host: AgentTarget,
    vmId: string,
    body: AgentInput<'setNetPolicy'>['body'],
  ): Promise<AgentVmStatus> {
    return this.call(host, 'setNetPolicy', { params: { id: vmId }, body });
  }
  dnsNames(host: AgentTarget, vmId: string, body: AgentInput<'setDnsNames'>['body']): Promise<AgentVmStatus> {
    return this.call(host, 'setDnsNames', { params: { id: vmId }, body });
  }
  personalize(
    host: AgentTarget,
    vmId: string,
    body: AgentInput<'personalize'>['body'],
  ): Promise<AgentOutput<'personalize'>> {
    return this.call(host, 'personalize', { params: { id: vmId }, body });
  }
  guestInfo(host: AgentTarget, vmId: string): Promise<AgentOutput<'guestInfo'>> {
    return this.call(host, 'guestInfo', { params: { id: vmId } });
  }
  ensureNetwork(host: AgentTarget, network: AgentNetwork): Promise<{ ok: boolean }> {
    return this.call(host, 'ensureNetwork', { body: { network } });
  }
  teardownNetwork(host: AgentTarget, network: AgentNetwork): Promise<{ ok: boolean }> {
    return this.call(host, 'teardownNetwork', { body: { network } });
  }
  createVolume(
    host: AgentTarget,
    id: string,
    body: AgentInput<'createVolume'>['body'],
  ): Promise<AgentOutput<'createVolume'>> {
    return this.call(host, 'createVolume', { params: { id }, body });
  }
  resizeVolume(
    host: AgentTarget,
    id: string,
    body: AgentInput<'resizeVolume'>['body'],
  ): Promise<AgentOutput<'resizeVolume'>> {
    return this.call(host, 'resizeVolume', { params: { id }, body });
  }
  deleteVolume(host: AgentTarget, id: string): Promise<{ ok: boolean }> {
    return this.call(host, 'deleteVolume', { params: { id } });
  }
}
