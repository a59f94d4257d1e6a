/**
 * How many VMs boot at once on this host. A boot is CPU-bound from the VMM's launch until the
 * guest agent answers (under TCG, the whole guest kernel's start is emulated): fifty boots started
 * together share the cores fifty ways and each takes long enough to pass the boot limit, while the
 * same fifty let through a few at a time all come up, sooner on average. Boots past the limit wait
 * in arrival order; the time waited is a boot step of its own (`queue`) and the boot limit counts
 * from the launch, not from the arrival.
 */
export class BootGate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new Error(`boot limit must be a positive integer (${limit})`);
  }

  /** Boots running now (let through, not yet released). */
  get active(): number {
    return this.running;
  }

  /** Boots waiting for a turn. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves once this boot may go; the returned release (idempotent) lets the next one through. */
  async enter(): Promise<() => void> {
    if (this.running < this.limit) this.running++;
    // The releasing boot hands its place over directly, so `running` never dips and a newcomer
    // cannot overtake one that waited.
    else await new Promise<void>((go) => this.waiting.push(go));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    };
  }
}

/**
 * The default number of boots at a time: the cores under TCG (a boot uses a core to the full until
 * the guest is up); with KVM boots wait mostly on I/O, so four per core.
 */
export function defaultBootLimit(accel: 'kvm' | 'tcg', cpus: number): number {
  const n = Math.max(1, cpus);
  return accel === 'tcg' ? n : 4 * n;
}
