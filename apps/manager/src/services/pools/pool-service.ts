import type { Logger } from 'pino';
import {
  HearthError,
  newId,
  type CreatePoolBody,
  type PatchPoolBody,
  type Pool,
  type PoolSpec,
  type Vm,
} from '@hearth/contract';
import { isUniqueViolation } from '../../db/index.ts';
import type { Stores } from '../../store/index.ts';
import { poolFromRow, type PoolRow } from '../../store/pools.ts';
import type { VmBus } from '../bus.ts';
import type { SnapshotService } from '../snapshot-service.ts';
import type { VmService } from '../vms/vm-service.ts';
import { refillPool, type RefillState } from './refill.ts';
import { assertPoolSpec } from './spec.ts';

export interface PoolServiceDeps {
  stores: Stores;
  vms: VmService;
  /** `snapshot` pools take their snapshot through it, and delete it with the pool or its spec. */
  snapshots: SnapshotService;
  bus: VmBus;
  log: Logger;
  /** How often every pool is looked at even without a change (default 5 s). */
  intervalMs?: number;
  /** false: pools are kept as records only and never boot VMs (maintenance; API-only test runs). */
  refill?: boolean;
  /** Whether this replica runs refills now (the leader; services/replicas/leader.ts); default always. */
  active?: () => boolean;
}

/** Refills wait until no hand-out has finished for this long… */
const HANDOUT_QUIET_MS = 1000;
/** …but never longer than this after a burst of hand-outs began. */
const HANDOUT_MAX_DEFER_MS = 5000;

/**
 * Warm pools: records, and the refill loop that keeps `size` VMs of each pool booted and waiting.
 * The loop runs one pass at a time (kicked by changes to pool VMs, a pool's creation or resize,
 * and a timer); each pass boots at most one VM per host, and none on a host where any VM is
 * booting (see refill.ts), and passes wait for a burst of hand-outs to end (`quietFor`).
 */
export class PoolService {
  private timer: NodeJS.Timeout | null = null;
  private pass: Promise<void> | null = null;
  private again = false;
  /** Changes to pools that no refill pass may overlap (a new spec, a deletion) in progress. */
  private changing = 0;
  private disposed = false;
  private readonly state: RefillState = { backoffUntil: new Map() };
  /** Hand-outs seen (a pool VM going from `pooled` to `running`): refills wait for them (`quietFor`). */
  private readonly handOuts = { last: 0, burstSince: 0 };
  private deferred: NodeJS.Timeout | null = null;
  private readonly onVm = (vm: Vm, from?: Vm['state']) => {
    if (from === 'pooled' && vm.state === 'running') {
      const now = Date.now();
      if (now - this.handOuts.last > HANDOUT_QUIET_MS) this.handOuts.burstSince = now;
      this.handOuts.last = now;
    }
    if (vm.pool !== null) this.kick();
  };

  constructor(private readonly deps: PoolServiceDeps) {}

  /** Starts the refill loop. */
  start(): void {
    if (this.timer || this.disposed) return;
    this.deps.bus.on('vm', this.onVm);
    this.timer = setInterval(() => this.kick(), this.deps.intervalMs ?? 5000);
    this.timer.unref();
    this.kick();
  }

  /** Stops the loop and waits for a pass in flight; idempotent. */
  async dispose(): Promise<void> {
    this.disposed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.deferred) clearTimeout(this.deferred);
    this.deferred = null;
    this.deps.bus.off('vm', this.onVm);
    await this.pass;
  }

  /**
   * How long refills still wait for a burst of hand-outs to end: a refill's boot holds a core (for
   * seconds under TCG) and its host-side steps share the agent with the hand-outs, so while users
   * are being handed VMs they come first. Bounded, so a steady stream of hand-outs still refills.
   */
  private quietFor(): number {
    const { last, burstSince } = this.handOuts;
    const now = Date.now();
    if (now - burstSince >= HANDOUT_MAX_DEFER_MS) return 0;
    return Math.max(0, last + HANDOUT_QUIET_MS - now);
  }

  /** Runs a refill pass soon (coalesced: one at a time, one more if asked during it). */
  kick(): void {
    if (this.disposed || this.deps.refill === false || this.changing) return;
    if (this.deps.active && !this.deps.active()) return;
    const wait = this.quietFor();
    if (wait > 0) {
      this.deferred ??= setTimeout(() => {
        this.deferred = null;
        this.kick();
      }, wait);
      return;
    }
    if (this.pass) {
      this.again = true;
      return;
    }
    this.pass = this.runPasses().finally(() => (this.pass = null));
  }

  /** Resolves once no pass is running (tests, bench). */
  async idle(): Promise<void> {
    while (this.pass) await this.pass;
  }

  /**
   * Runs `fn` with no refill pass in flight: a pass that read the old spec must not restore from,
   * or snapshot, a VM of it after the change (the snapshot would be of the old spec).
   */
  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.changing++;
    try {
      await this.idle();
      return await fn();
    } finally {
      this.changing--;
      this.kick();
    }
  }

  private async runPasses(): Promise<void> {
    do {
      this.again = false;
      for (const pool of await this.deps.stores.pools.all().catch(() => [])) {
        if (this.disposed) return;
        await refillPool(this.deps, this.state, pool).catch((e: Error) =>
          this.deps.log.error({ pool: pool.name, err: e }, 'refilling a pool failed'),
        );
      }
    } while (this.again && !this.disposed);
  }

  async create(body: Required<CreatePoolBody>, project: string): Promise<Pool> {
    const spec = body.spec as PoolSpec;
    await assertPoolSpec(this.deps.stores, project, spec);
    let row: PoolRow;
    try {
      row = await this.deps.stores.pools.insert({
        id: newId('pool'),
        name: body.name,
        project,
        spec,
        mode: body.mode,
        size: body.size,
      });
    } catch (e) {
      if (isUniqueViolation(e)) {
        throw new HearthError('POOL_NAME_TAKEN', `Creating the pool failed: "${body.name}" is taken.`, {
          fields: { name: ['already taken'] },
        });
      }
      throw e;
    }
    this.kick();
    return this.view(row);
  }

  async list(q: { project: string; limit: number; cursor?: string | undefined }) {
    const page = await this.deps.stores.pools.list(q);
    const counts = await this.deps.stores.pools.counts(
      q.project,
      page.items.map((p) => p.name),
    );
    return {
      items: page.items.map((p) => poolFromRow(p, counts.get(p.name)!)),
      nextCursor: page.nextCursor,
    };
  }

  async get(idOrName: string, project: string): Promise<Pool> {
    return this.view(await this.deps.stores.pools.require(idOrName, project));
  }

  /** A new size takes effect on the next pass; a new spec replaces the VMs waiting. */
  async patch(idOrName: string, project: string, body: PatchPoolBody): Promise<Pool> {
    const row = await this.deps.stores.pools.require(idOrName, project);
    if (body.spec) await assertPoolSpec(this.deps.stores, project, body.spec);
    const updated = await this.exclusive(async () => {
      const changed = await this.deps.stores.pools.update(row.id, body);
      if (body.spec) {
        await this.drop(changed);
        // A new spec, a new snapshot: the next refill boots from the new spec and snapshots that VM.
        await this.dropSnapshot(changed);
      }
      return changed;
    });
    return this.view(updated);
  }

  /** The pool goes, and the VMs waiting in it; VMs already handed out stay. */
  async delete(idOrName: string, project: string): Promise<Pool> {
    const row = await this.deps.stores.pools.require(idOrName, project);
    const view = await this.view(row);
    await this.exclusive(async () => {
      await this.deps.stores.pools.delete(row.id);
      await this.drop(row);
      await this.dropSnapshot(row);
    });
    return view;
  }

  /** A `snapshot` pool's snapshot goes (record and host files); its clones handed out stay. */
  private async dropSnapshot(pool: PoolRow): Promise<void> {
    if (!pool.snapshot_id) return;
    await this.deps.stores.pools.setSnapshot(pool.id, null);
    await this.deps.snapshots
      .delete(pool.snapshot_id, pool.project)
      .catch((e: HearthError) =>
        this.deps.log.warn({ pool: pool.name, err: e.message }, 'removing the pool snapshot failed'),
      );
  }

  private async drop(pool: PoolRow): Promise<void> {
    for (const vm of await this.deps.stores.pools.waiting(pool.project, pool.name)) {
      if (vm.state === 'deleting') continue;
      await this.deps.vms
        .delete(vm.id, pool.project, 'pool')
        .catch((e: Error) => this.deps.log.warn({ vm: vm.id, err: e.message }, 'removing a pool VM failed'));
    }
  }

  private async view(row: PoolRow): Promise<Pool> {
    const counts = await this.deps.stores.pools.counts(row.project, [row.name]);
    return poolFromRow(row, counts.get(row.name)!);
  }
}
