/** What a sign-in in flight needs at its callback; never leaves the manager. */
export interface PendingSignIn {
  verifier: string;
  nonce: string;
  returnTo: string;
}

/** How long a browser may take at the provider between start and callback. */
export const PENDING_TTL_MS = 10 * 60_000;
/** Sign-ins in flight kept at most (the start route is open to anyone): the oldest go first. */
export const MAX_PENDING = 10_000;

/**
 * Sign-ins in flight, keyed by their state, in memory: the PKCE verifier and nonce never reach
 * the browser, each state is used once (taken, then gone), and nothing needs a signing key. A
 * manager restart drops them; the person starts the sign-in again. Entries expire after
 * `PENDING_TTL_MS`; expired ones are swept on each add, so no timer is needed.
 */
export class PendingSignIns {
  private readonly flows = new Map<string, PendingSignIn & { expiresAt: number }>();

  constructor(
    private readonly ttlMs = PENDING_TTL_MS,
    private readonly max = MAX_PENDING,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.flows.size;
  }

  add(state: string, flow: PendingSignIn): void {
    const now = this.now();
    // Insertion order is expiry order (one TTL for all): expired entries are at the front.
    for (const [k, v] of this.flows) {
      if (v.expiresAt > now && this.flows.size < this.max) break;
      this.flows.delete(k);
    }
    this.flows.set(state, { ...flow, expiresAt: now + this.ttlMs });
  }

  /** The flow of `state`, removed: a second call with the same state finds nothing. */
  take(state: string): PendingSignIn | null {
    const flow = this.flows.get(state);
    if (!flow) return null;
    this.flows.delete(state);
    if (flow.expiresAt <= this.now()) return null;
    return { verifier: flow.verifier, nonce: flow.nonce, returnTo: flow.returnTo };
  }
}
