import type { Logger } from 'pino';

/** Records of operations in flight that other manager replicas read (null with one manager). */
export interface SharedOperations {
  begin(vmId: string): void;
  end(vmId: string): void;
  /** VMs with an operation in flight on another live replica. */
  elsewhere(): Promise<Set<string>>;
}

/**
 * The agent calls in flight, at most one chain per VM: the reconciler leaves a VM with one alone,
 * and shutdown waits for them.
 */
export class OperationTracker {
  private readonly inFlightByVm = new Map<string, Promise<void>>();
  /** Other manager replicas' view of this one's operations (services/replicas/shared-ops.ts). */
  shared: SharedOperations | null = null;

  constructor(private readonly log: Logger) {}

  /** Runs `fn` in the background as the VM's current operation; a crash is logged, never thrown. */
  track(vmId: string, fn: () => Promise<void>): void {
    this.shared?.begin(vmId);
    const p = fn()
      .catch((e: Error) => this.log.error({ vm: vmId, err: e }, 'VM operation crashed'))
      .finally(() => {
        if (this.inFlightByVm.get(vmId) !== p) return;
        this.inFlightByVm.delete(vmId);
        this.shared?.end(vmId);
      });
    this.inFlightByVm.set(vmId, p);
  }

  /**
   * Marks a VM busy until `release()` is called: a create between its insert and its first state
   * change, which a heartbeat must not take for an interrupted creation however slow the database.
   * `shared: false`: not recorded for the other replicas, for a VM nothing is done to while it is
   * held (a record at rest): two statements fewer.
   */
  hold(vmId: string, o: { shared?: boolean } = {}): () => void {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    this.inFlightByVm.set(vmId, held);
    const shared = o.shared === false ? null : this.shared;
    shared?.begin(vmId);
    return () => {
      release();
      if (this.inFlightByVm.get(vmId) !== held) return;
      this.inFlightByVm.delete(vmId);
      shared?.end(vmId);
    };
  }

  has(vmId: string): boolean {
    return this.inFlightByVm.has(vmId);
  }

  /** The VM's operation in flight, if any. */
  current(vmId: string): Promise<void> | undefined {
    return this.inFlightByVm.get(vmId);
  }

  /** Ids of VMs with an operation in flight (shutdown logs them). */
  vmIds(): string[] {
    return [...this.inFlightByVm.keys()];
  }

  /**
   * Resolves when every operation in flight has finished (shutdown, tests), or after `timeoutMs`;
   * true when all finished.
   */
  async drain(timeoutMs = Infinity): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((r) => {
      if (timeoutMs !== Infinity) timer = setTimeout(() => r(false), timeoutMs);
    });
    try {
      while (this.inFlightByVm.size) {
        const all = Promise.allSettled([...this.inFlightByVm.values()]).then(() => true as const);
        if (!(await Promise.race([all, late]))) return false;
      }
      return true;
    } finally {
      clearTimeout(timer);
    }
  }
}
