import { HearthError } from '@hearth/contract';
import type { AgentTarget } from './agent-client.ts';

/**
 * Which hosts' agents have registered or heartbeated to this manager process, with the address
 * they last gave. Nothing recorded before a manager start is trusted: a host is reachable only once
 * its agent has spoken to this process, and stops being so when a call to it fails or it goes quiet.
 * Calls to a host that is not live wait for it (bounded) instead of failing on a stale address.
 */
export class HostLiveness {
  private readonly live = new Map<string, AgentTarget>();
  private readonly waiters = new Map<string, Set<(t: AgentTarget | null) => void>>();
  private disposed = false;
  private readonly watchers: ((hostId: string) => void)[] = [];

  /** Calls `fn` with a host's id whenever its agent registers or heartbeats (webhooks' host.online). */
  watch(fn: (hostId: string) => void): void {
    this.watchers.push(fn);
  }

  /** The agent registered (a new address and token) or heartbeated (the stored ones still hold). */
  seen(target: AgentTarget): void {
    const t: AgentTarget = {
      id: target.id,
      url: target.url,
      callback_token: target.callback_token,
      tls_pins: target.tls_pins ?? null,
    };
    this.live.set(t.id, t);
    for (const w of this.watchers) w(t.id);
    const ws = this.waiters.get(t.id);
    this.waiters.delete(t.id);
    for (const w of ws ?? []) w(t);
  }

  /**
   * A call to the host failed in transport, or it stopped heartbeating: not live until it speaks
   * again (its record turns offline only when heartbeats stay away; a lost call may be a blip).
   */
  lost(hostId: string): void {
    this.live.delete(hostId);
  }

  isLive(hostId: string): boolean {
    return this.live.has(hostId);
  }

  /** The host's current address, waiting up to `timeoutMs` for its agent to come back; null if it did not. */
  wait(hostId: string, timeoutMs: number): Promise<AgentTarget | null> {
    const now = this.live.get(hostId);
    if (now) return Promise.resolve(now);
    if (this.disposed || timeoutMs <= 0) return Promise.resolve(null);
    return new Promise((resolve) => {
      const set = this.waiters.get(hostId) ?? new Set();
      this.waiters.set(hostId, set);
      const done = (t: AgentTarget | null) => {
        clearTimeout(timer);
        set.delete(done);
        resolve(t);
      };
      const timer = setTimeout(() => done(null), timeoutMs);
      set.add(done);
    });
  }

  /** Like `wait`, but a host that stays away is a retryable HOST_UNAVAILABLE (nothing was changed). */
  async require(
    host: AgentTarget & { name?: string },
    timeoutMs: number,
    what: string,
  ): Promise<AgentTarget> {
    const t = await this.wait(host.id, timeoutMs);
    if (t) return t;
    throw new HearthError(
      'HOST_UNAVAILABLE',
      `${what} failed: the agent of host ${host.name ?? host.id} has not been heard from since the manager started or since it last failed to answer; nothing was changed.`,
      { retryAfterS: 5, detail: { host: host.id } },
    );
  }

  /** Wakes every waiter with "not back" (shutdown). Idempotent. */
  dispose(): void {
    this.disposed = true;
    for (const ws of this.waiters.values()) for (const w of [...ws]) w(null);
    this.waiters.clear();
  }
}
