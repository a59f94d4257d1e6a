import { HearthError } from '@hearth/contract';
import type { AgentTarget } from './agent-client.ts';

/**
 * Which hosts' agents have registered or heartbeated to this manager process, with the address
 * they last gave. Nothing recorded before a manager start is trusted: a host is reachable only once
 * its agent has spoken to this process, and stops being so when a call to it fails or it goes quiet.
 * Calls to a host that is not live wait for it (bounded) instead of failing on a stale address.
 *
 * With several manager replicas an agent heartbeats to one of them: the others trust the
 * database's record of a recent heartbeat (`trustRecent`, services/replicas/shared-liveness.ts),
 * except that a host a call from this process failed to reach is trusted again only for a
 * heartbeat newer than the last one known here when the call failed.
 */
export class HostLiveness {
  private readonly live = new Map<string, AgentTarget>();
  private readonly waiters = new Map<string, Set<(t: AgentTarget | null) => void>>();
  private disposed = false;
  private readonly watchers: ((hostId: string) => void)[] = [];
  /** Last heartbeat time (ms, the database's clock) each host's record showed here. */
  private readonly beats = new Map<string, number>();
  /** Hosts a call failed to reach: the heartbeat time known then (only newer ones count). */
  private readonly lostAt = new Map<string, number>();

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
    this.lostAt.delete(t.id);
    this.admit(t);
    for (const w of this.watchers) w(t.id);
  }

  /**
   * Hosts whose agents heartbeated recently to any replica, as the database records them; each is
   * live here too unless a call from here failed since that heartbeat. Watchers are not told: the
   * replica that heard the agent did that. `rows` is every recent host: the others are not live.
   */
  trustRecent(rows: { target: AgentTarget; heartbeatMs: number }[]): void {
    const recent = new Set(rows.map((r) => r.target.id));
    for (const id of [...this.live.keys()]) if (!recent.has(id)) this.live.delete(id);
    for (const { target, heartbeatMs } of rows) {
      this.beats.set(target.id, heartbeatMs);
      const mark = this.lostAt.get(target.id);
      if (mark !== undefined && heartbeatMs <= mark) continue;
      this.lostAt.delete(target.id);
      const have = this.live.get(target.id);
      const t: AgentTarget = {
        id: target.id,
        url: target.url,
        callback_token: target.callback_token,
        tls_pins: target.tls_pins ?? null,
      };
      if (!have || JSON.stringify(have) !== JSON.stringify(t)) this.admit(t);
    }
  }

  private admit(t: AgentTarget): void {
    this.live.set(t.id, t);
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
    this.lostAt.set(hostId, this.beats.get(hostId) ?? 0);
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
