/**
 * Addresses picked by this process's creates whose transactions have not ended yet, per network.
 * Creates in one project no longer queue on the project's row (services/quotas.ts), so two of
 * them would otherwise both pick the lowest free address, and one would fail on the unique index
 * and run its whole transaction again. A create skips the addresses claimed here; one on another
 * replica can still collide, and retries as before.
 */
const claimed = new Map<string, Set<string>>();

/** What one create claimed; `release` once its transaction has ended (committed or not). */
export class AddressClaims {
  private readonly held: [string, string][] = [];

  /** The addresses on `networkId` that creates in flight picked. */
  static claimedOn(networkId: string): ReadonlySet<string> {
    return claimed.get(networkId) ?? new Set();
  }

  claim(networkId: string, ip: string): void {
    let set = claimed.get(networkId);
    if (!set) claimed.set(networkId, (set = new Set()));
    set.add(ip);
    this.held.push([networkId, ip]);
  }

  release(): void {
    for (const [networkId, ip] of this.held.splice(0)) {
      const set = claimed.get(networkId);
      set?.delete(ip);
      if (set?.size === 0) claimed.delete(networkId);
    }
  }
}
