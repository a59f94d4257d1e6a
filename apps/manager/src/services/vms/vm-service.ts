import { randomBytes } from 'node:crypto';
import {
  HearthError,
  type AgentVmSpec,
  type AgentVmStatus,
  type Host,
  type PatchVmBody,
  type Vm,
  type VmAction,
  type VmState,
} from '@hearth/contract';
import { vmFromRow, type VmRow } from '../../store/mappers.ts';
import type { SnapshotRow } from '../../store/snapshots.ts';
import { agentSpecFor } from './agent-spec.ts';
import { hostOf, type VmContext, type VmServiceDeps } from './context.ts';
import { createVm } from './create.ts';
import { createFromPool } from '../pools/handout.ts';
import { assertCloneInput, type CreateInput } from './create-input.ts';
import { deleteVm, runVerb } from './lifecycle.ts';
import { OperationTracker, type SharedOperations } from './operations.ts';
import { reconcileHost } from './reconcile.ts';
import { failOverHost, markHostVmsUnknown } from './failover.ts';
import { cloneFromSnapshot, restoreInPlace, type CloneInput } from './restore.ts';
import { stopExpired } from './timeouts.ts';
import { updateVm } from './update.ts';
import { importVm, type ImportPlan } from './import.ts';
import { waitForState } from './wait.ts';
import { migrateVm } from './migrate.ts';
import { drainHost } from './drain.ts';
import { whyNotOnItsHost } from './move-snapshots.ts';
import { recoverMoves } from './move-recovery.ts';

export type { VmServiceDeps } from './context.ts';

/**
 * The VMs' one entry point for routes and other services. Each verb lives in the file named for
 * what it owns: create input and placement, lifecycle verbs, restore, update, reconciliation of
 * agent reports, timeouts and DHCP learning.
 */
export class VmService {
  private readonly ctx: VmContext;

  constructor(deps: VmServiceDeps) {
    this.ctx = {
      ...deps,
      operations: new OperationTracker(deps.log),
      // Per process: a restarted manager may keep its replica id, and must see its predecessor's
      // moves as interrupted.
      replica: `${deps.replica ?? 'mgr'}#${randomBytes(6).toString('hex')}`,
    };
  }

  /**
   * A new VM in `project` (the request's, whatever the body said), from an image, or a clone when
   * `snapshot` is given; the image, networks, volumes and snapshot are found in that project.
   */
  async create(body: CreateInput, project: string, actor: string): Promise<Vm> {
    if (body.dnsAliases?.length && (body.pool !== undefined || body.snapshot !== undefined)) {
      // A pooled or cloned VM is already running under its pool's or snapshot's spec.
      throw new HearthError(
        'VALIDATION_FAILED',
        'Creating the VM failed: DNS aliases are given at a create from an image, not from a pool or snapshot.',
        { fields: { dnsAliases: ['not allowed with pool or snapshot'] } },
      );
    }
    if (body.pool !== undefined) {
      return createFromPool(this.ctx, { ...body, pool: body.pool, project }, actor, (b) =>
        createVm(this.ctx, b, actor),
      );
    }
    if (body.snapshot === undefined) return createVm(this.ctx, { ...body, project }, actor);
    assertCloneInput(body);
    const snap = await this.ctx.stores.snapshots.require(body.snapshot, project);
    return cloneFromSnapshot(this.ctx, snap, { name: body.name, project, labels: body.labels }, actor);
  }

  createFromSnapshot(snap: SnapshotRow, body: CloneInput, actor: string): Promise<Vm> {
    return cloneFromSnapshot(this.ctx, snap, body, actor);
  }

  restoreInPlace(idOrName: string, project: string, snap: SnapshotRow, actor: string): Promise<Vm> {
    return restoreInPlace(this.ctx, idOrName, project, snap, actor);
  }

  /** The agent's view of a VM: what a snapshot records so that a clone can be built from it. */
  specFor(row: VmRow): Promise<AgentVmSpec> {
    return agentSpecFor(this.ctx, row);
  }

  /** A new VM from an exported one (vm-export/import.ts reads the archive). */
  import(plan: ImportPlan, actor: string): Promise<Vm> {
    return importVm(this.ctx, plan, actor);
  }

  async get(idOrName: string, project: string): Promise<Vm> {
    return vmFromRow(await this.ctx.stores.vms.require(idOrName, project));
  }

  action(
    idOrName: string,
    project: string,
    action: Exclude<VmAction, 'delete'>,
    actor: string,
    opts: { force?: boolean; timeoutSeconds?: number } = {},
  ): Promise<Vm> {
    return runVerb(this.ctx, idOrName, project, action, actor, opts);
  }

  patch(idOrName: string, project: string, body: PatchVmBody, actor: string): Promise<Vm> {
    return updateVm(this.ctx, idOrName, project, body, actor);
  }

  delete(idOrName: string, project: string, actor: string): Promise<Vm> {
    return deleteVm(this.ctx, idOrName, project, actor);
  }

  /** Tells event-stream followers about a VM changed outside this service (a host removed). */
  announce(row: VmRow): void {
    this.ctx.bus.publish(vmFromRow(row));
  }

  async logs(idOrName: string, project: string, tail: number): Promise<string> {
    const row = await this.ctx.stores.vms.require(idOrName, project);
    if (!row.host_id) return '';
    return this.ctx.agents.logs(await hostOf(this.ctx, row), row.id, tail).catch((e: HearthError) => {
      if (e.code === 'AGENT_ERROR') return '';
      throw e;
    });
  }

  /** Long poll: resolves when the VM reaches `target`, rejects when it fails, vanishes or times out. */
  wait(idOrName: string, project: string, target: VmState, timeoutS: number): Promise<Vm> {
    return waitForState(this.ctx, idOrName, project, target, timeoutS);
  }

  /** The host went silent past the grace period: its VMs that may be running become `unknown`. */
  markHostUnknown(host: { id: string; name: string }, graceMs: number): Promise<number> {
    return markHostVmsUnknown(this.ctx, host, graceMs);
  }

  /** The host was declared dead: its VMs are fenced, then restarted elsewhere or marked lost. */
  failOverHost(host: { id: string; name: string }, actor: string) {
    return failOverHost(this.ctx, host, actor);
  }

  /** What an agent reports (heartbeats: `complete`; pushes: only what changed). */
  reconcile(
    hostId: string,
    statuses: AgentVmStatus[],
    complete: boolean,
    receivedAt?: number,
  ): Promise<void> {
    return reconcileHost(this.ctx, hostId, statuses, complete, receivedAt);
  }

  /** Auto-stop for VMs whose `timeout` elapsed. */
  stopExpired(): Promise<void> {
    return stopExpired(this.ctx, (vm) => this.action(vm.id, vm.project, 'stop', 'timeout'));
  }

  /** Resolves when every operation in flight has finished, or after `timeoutMs`; true when all did. */
  drain(timeoutMs = Infinity): Promise<boolean> {
    return this.ctx.operations.drain(timeoutMs);
  }

  /** Operations in flight (shutdown logs them). */
  inFlight(): string[] {
    return this.ctx.operations.vmIds();
  }

  /**
   * Moves a VM to another host: live when running (QEMU), cold when stopped (migrate.ts), a
   * stopped one with the snapshots of it named in `carry` (move-snapshots.ts).
   */
  migrate(idOrName: string, project: string, actor: string, toHost?: string, carry?: string[]): Promise<Vm> {
    return migrateVm(this.ctx, idOrName, project, actor, toHost, carry);
  }

  /** Why a stopped VM cannot start again where it is (move-snapshots.ts), or null. */
  async whyNotOnItsHost(idOrName: string, project: string): Promise<string | null> {
    return whyNotOnItsHost(this.ctx, await this.ctx.stores.vms.require(idOrName, project));
  }

  /** Cordons a host and moves every VM off it, in the background (drain.ts). */
  drainHost(idOrName: string, actor: string): Promise<Host> {
    return drainHost(this.ctx, idOrName, actor);
  }

  /** Moves in flight whose manager is gone are resolved (move-recovery.ts); the leader's tick. */
  recoverMoves(aliveMs: number): Promise<void> {
    return recoverMoves(this.ctx, aliveMs);
  }

  /** Manager replicas: operations in flight are recorded where the others see them. */
  shareOperations(shared: SharedOperations): void {
    this.ctx.operations.shared = shared;
  }
}
