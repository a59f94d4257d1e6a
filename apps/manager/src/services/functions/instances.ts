import { HearthError, type FunctionConfig } from '@hearth/contract';
import { randomBytes } from 'node:crypto';
import { FUNCTION_LABEL, runningGuest, shimReady, type BuildDeps } from './build.ts';
import type { Guest } from './guest.ts';
import type { ShimClient } from './shim-client.ts';

/** One VM restored from a version's snapshot, serving up to `concurrency` invocations at once. */
export interface Instance {
  vmId: string | null;
  version: number;
  state: 'starting' | 'ready' | 'gone';
  guest: Guest | null;
  /** Its shim's stream, open while the instance lives (invocations are multiplexed on it). */
  shim: ShimClient | null;
  inflight: number;
  /** Invocations it took: the first one is the cold one (unless it was started ahead of need). */
  served: number;
  /** Started to keep minInstances warm: no invocation waited for its restore. */
  prewarmed: boolean;
  lastUsed: number;
}

export interface Lease {
  inst: Instance;
  guest: Guest;
  shim: ShimClient;
  cold: boolean;
}

interface Waiter {
  version: number;
  snapshotId: string;
  resolve: (l: Lease) => void;
  reject: (e: Error) => void;
}

/** What a pool needs of its function: its settings now (they change with deploys). */
export interface PoolOwner {
  id: string;
  name: string;
  project: string;
  config: () => FunctionConfig;
}

/**
 * The instances of one function: reused while warm, restored from the version's snapshot when
 * every one is busy (up to maxInstances), a bounded queue beyond that (429 past it), stopped after
 * the idle time (down to minInstances).
 */
export class FunctionPool {
  readonly instances: Instance[] = [];
  private readonly waiters: Waiter[] = [];

  constructor(
    private readonly deps: BuildDeps,
    private readonly owner: PoolOwner,
  ) {}

  /** An instance slot for `version`: at once when one is free, after a restore or a wait otherwise. */
  acquire(version: number, snapshotId: string): Promise<Lease> {
    const c = this.owner.config();
    const free = this.instances.some((i) => this.fits(i, version, c));
    const canStart = this.live().length < c.maxInstances;
    // Waiters an instance being restored will take are not queued; the rest are.
    const starting = this.instances.filter((i) => i.state === 'starting').length * c.concurrency;
    const queued = Math.max(0, this.waiters.length - starting);
    if (!free && !canStart && queued >= c.queue) {
      return Promise.reject(
        new HearthError(
          'FUNCTION_THROTTLED',
          `Invoking function "${this.owner.name}" was refused: ${c.maxInstances} instance(s) busy and ${queued} invocation(s) queued.`,
          { retryAfterS: 1, detail: { maxInstances: c.maxInstances, queued } },
        ),
      );
    }
    return new Promise<Lease>((resolve, reject) => {
      this.waiters.push({ version, snapshotId, resolve, reject });
      this.pump();
    });
  }

  release(inst: Instance): void {
    inst.inflight--;
    inst.lastUsed = Date.now();
    this.pump();
  }

  /**
   * Removes an instance that misbehaved (a timeout, a broken shim): the others go on. Its VM is
   * deleted once `keepUntil` settles (the guest asked what happened), out of rotation meanwhile.
   */
  recycle(inst: Instance, why: string, keepUntil?: Promise<unknown>): void {
    // The other calls on a recycled instance fail with it: it is removed once.
    if (inst.state === 'gone') return this.pump();
    this.drop(inst, why, keepUntil);
    this.pump();
  }

  /** Stops instances idle past the idle time (keeping minInstances), and any of other versions than `keep`. */
  sweep(keep: number | null): void {
    const c = this.owner.config();
    const now = Date.now();
    for (const i of [...this.instances]) {
      if (i.state !== 'ready' || i.inflight > 0) continue;
      const stale = keep !== null && i.version !== keep;
      if (stale || (now - i.lastUsed > c.idleS * 1000 && this.live().length > c.minInstances)) {
        this.drop(i, stale ? 'an alias moved off its version' : 'idle');
      }
    }
  }

  /** Invocations running now. */
  concurrent(): number {
    return this.instances.reduce((n, i) => n + i.inflight, 0);
  }

  /** Restores instances of `version` ahead of need until minInstances of it live. */
  prewarm(version: number, snapshotId: string): void {
    const c = this.owner.config();
    const have = this.live().filter((i) => i.version === version).length;
    for (let k = have; k < Math.min(c.minInstances, c.maxInstances); k++)
      this.start(version, snapshotId, true);
  }

  /** Stops every instance and refuses whatever waits (the function was removed). */
  dispose(): void {
    for (const w of this.waiters.splice(0)) {
      w.reject(new HearthError('FUNCTION_NOT_FOUND', `Function "${this.owner.name}" was removed.`));
    }
    for (const i of [...this.instances]) this.drop(i, 'function removed');
  }

  private live(): Instance[] {
    return this.instances.filter((i) => i.state !== 'gone');
  }

  private fits(i: Instance, version: number, c: FunctionConfig): boolean {
    return i.state === 'ready' && i.version === version && i.inflight < c.concurrency;
  }

  /** Hands free slots to waiters in order, and starts instances for those no slot will serve. */
  private pump(): void {
    const c = this.owner.config();
    while (this.waiters.length) {
      const w = this.waiters[0]!;
      const inst = this.instances.find((i) => this.fits(i, w.version, c));
      if (inst) {
        this.waiters.shift();
        inst.inflight++;
        w.resolve({
          inst,
          guest: inst.guest!,
          shim: inst.shim!,
          cold: inst.served++ === 0 && !inst.prewarmed,
        });
        continue;
      }
      const starting = this.instances.filter((i) => i.state === 'starting' && i.version === w.version);
      const waiting = this.waiters.filter((x) => x.version === w.version).length;
      if (starting.length * c.concurrency < waiting && this.live().length < c.maxInstances) {
        this.start(w.version, w.snapshotId);
        continue;
      }
      if (!starting.length && this.live().length >= c.maxInstances) {
        // Full of other versions' instances: the idlest one makes room.
        const idle = this.instances.find(
          (i) => i.state === 'ready' && i.inflight === 0 && i.version !== w.version,
        );
        if (idle) {
          this.drop(idle, 'making room for another version');
          continue;
        }
      }
      break;
    }
  }

  private start(version: number, snapshotId: string, prewarmed = false): void {
    const inst: Instance = {
      vmId: null,
      version,
      state: 'starting',
      guest: null,
      shim: null,
      inflight: 0,
      served: 0,
      prewarmed,
      lastUsed: Date.now(),
    };
    this.instances.push(inst);
    this.boot(inst, snapshotId).then(
      ({ guest, shim }) => {
        if (inst.state === 'gone') return shim.close();
        inst.guest = guest;
        inst.shim = shim;
        inst.state = 'ready';
        inst.lastUsed = Date.now();
        this.pump();
      },
      (e: Error) => {
        this.drop(inst, `restore failed: ${e.message}`);
        const err =
          e instanceof HearthError
            ? e
            : new HearthError(
                'FUNCTION_INSTANCE_FAILED',
                `Starting an instance of function "${this.owner.name}" failed: ${e.message}`,
              );
        // Those this instance was for are told; a later call tries again.
        for (const w of this.waiters.filter((x) => x.version === version)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.reject(err);
        }
        this.pump();
      },
    );
  }

  private async boot(inst: Instance, snapshotId: string): Promise<{ guest: Guest; shim: ShimClient }> {
    const snap = await this.deps.stores.snapshots.requireUnscoped(snapshotId);
    const vm = await this.deps.vms.createFromSnapshot(
      snap,
      {
        name: `fn-${this.owner.name.slice(0, 40)}-${randomBytes(4).toString('hex')}`,
        project: this.owner.project,
        labels: { [FUNCTION_LABEL]: this.owner.id },
      },
      'function',
    );
    inst.vmId = vm.id;
    if (inst.state === 'gone') throw new Error('removed while starting');
    const guest = await runningGuest(this.deps, vm.id, this.owner.project);
    return { guest, shim: await shimReady(this.deps, guest, 300_000) };
  }

  private drop(inst: Instance, why: string, keepUntil?: Promise<unknown>): void {
    const at = this.instances.indexOf(inst);
    if (at >= 0) this.instances.splice(at, 1);
    inst.state = 'gone';
    // Calls still waiting on it fail now rather than when the VM is gone.
    inst.shim?.close();
    if (!inst.vmId) return;
    const vmId = inst.vmId;
    this.deps.log.info({ fn: this.owner.name, vm: vmId, why }, 'function instance stopped');
    const remove = () =>
      this.deps.vms
        .delete(vmId, this.owner.project, 'function')
        .catch((e: Error) => this.deps.log.warn({ err: e, vm: vmId }, 'removing a function instance failed'));
    if (keepUntil) void keepUntil.catch(() => undefined).then(remove);
    else void remove();
  }
}
