/**
 * Failed sign-ins counted per key (a user name, a source address) in a fixed window that starts
 * at the first failure. At `limit` failures the key is refused until the window ends. Kept in
 * memory: a restart forgets the counts, which only ever lets someone try again sooner.
 */
export class FailureLimiter {
  private readonly failures = new Map<string, { count: number; until: number }>();

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until `key` may try again, or 0 when it may now. */
  retryAfterS(key: string): number {
    const f = this.failures.get(key);
    if (!f) return 0;
    const left = f.until - this.now();
    if (left <= 0) {
      this.failures.delete(key);
      return 0;
    }
    return f.count >= this.limit ? Math.ceil(left / 1000) : 0;
  }

  fail(key: string): void {
    const now = this.now();
    const f = this.failures.get(key);
    if (!f || f.until <= now) this.failures.set(key, { count: 1, until: now + this.windowMs });
    else f.count++;
    // Bounded memory under a flood of distinct names: expired entries go first.
    if (this.failures.size > 10_000) this.prune();
  }

  clear(key: string): void {
    this.failures.delete(key);
  }

  private prune(): void {
    const now = this.now();
    for (const [k, f] of this.failures) if (f.until <= now) this.failures.delete(k);
    // Still too many live keys: drop the oldest (Map keeps insertion order).
    for (const k of this.failures.keys()) {
      if (this.failures.size <= 10_000) break;
      this.failures.delete(k);
    }
  }
}

export interface SignInLimits {
  perUser: FailureLimiter;
  perSource: FailureLimiter;
}

/** 5 failures per user name and 20 per source address in 15 minutes. */
export function signInLimits(
  opts: { perUser?: number; perSource?: number; windowMs?: number } = {},
): SignInLimits {
  const windowMs = opts.windowMs ?? 15 * 60_000;
  return {
    perUser: new FailureLimiter(opts.perUser ?? 5, windowMs),
    perSource: new FailureLimiter(opts.perSource ?? 20, windowMs),
  };
}
