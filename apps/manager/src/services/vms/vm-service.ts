import type {
  AgentVmSpec,
  AgentVmStatus,
  HearthError,
  PatchVmBody,
  Vm,
  VmAction,
  VmState,
} from '@hearth/contract';
import { vmFromRow, type VmRow } from '../../store/mappers.ts';
import type { SnapshotRow } from '../../store/snapshots.ts';
import { agentSpecFor } from './agent-spec.ts';
import { hostOf, type VmContext, type VmServiceDeps } from './context.ts';
import { createVm } from './create.ts';
import { assertCloneInput, type CreateInput } from './create-input.ts';
import { deleteVm, runVerb } from './lifecycle.ts';
import { OperationTracker } from './operations.ts';
import { reconcileHost } from './reconcile.ts';
import { cloneFromSnapshot, restoreInPlace } from './restore.ts';
import { stopExpired } from './timeouts.ts';
import { updateVm } from './update.ts';
import { waitForState } from './wait.ts';

export type { VmServiceDeps } from './context.ts';

/**
 * The VMs' one entry point for routes and other services. Each verb lives in the file named for
 * what it owns: create input and placement, lifecycle verbs, restore, update, reconciliation of
 * agent reports, timeouts and DHCP learning.
 */
export class VmService {
  private readonly ctx: VmContext;

  constructor(deps: VmServiceDeps) {
    this.ctx = { ...deps, operations: new OperationTracker(deps.log) };
  }

  /** A new VM from an image, or a clone when `snapshot` is given. */
  async create(body: CreateInput, actor: string): Promise<Vm> {
    if (body.snapshot === undefined) return createVm(this.ctx, body, actor);
    assertCloneInput(body);
    const snap = await this.ctx.stores.snapshots.require(body.snapshot);
    return cloneFromSnapshot(
      this.ctx,
      snap,
      { name: body.name, project: body.project, labels: body.labels },
      actor,
    );
  }

  createFromSnapshot(
    snap: SnapshotRow,
    body: { name?: string | undefined; project: string; labels?: Record<string, string> | undefined },
    actor: string,
  ): Promise<Vm> {
    return cloneFromSnapshot(this.ctx, snap, body, actor);
  }

  restoreInPlace(idOrName: string, snap: SnapshotRow, actor: string): Promise<Vm> {
    return restoreInPlace(this.ctx, idOrName, snap, actor);
  }

  /** The agent's view of a VM: what a snapshot records so that a clone can be built from it. */
  specFor(row: VmRow): Promise<AgentVmSpec> {
    return agentSpecFor(this.ctx, row);
  }

  async get(idOrName: string): Promise<Vm> {
    return vmFromRow(await this.ctx.stores.vms.require(idOrName));
  }

  action(
    idOrName: string,
    action: Exclude<VmAction, 'delete'>,
    actor: string,
    opts: { force?: boolean; timeoutSeconds?: number } = {},
  ): Promise<Vm> {
    return runVerb(this.ctx, idOrName, action, actor, opts);
  }

  patch(idOrName: string, body: PatchVmBody, actor: string): Promise<Vm> {
    return updateVm(this.ctx, idOrName, body, actor);
  }

  delete(idOrName: string, actor: string): Promise<Vm> {
    return deleteVm(this.ctx, idOrName, actor);
  }

  async logs(idOrName: string, tail: number): Promise<string> {
    const row = await this.ctx.stores.vms.require(idOrName);
    if (!row.host_id) return '';
    return this.ctx.agents.logs(await hostOf(this.ctx, row), row.id, tail).catch((e: HearthError) => {
      if (e.code === 'AGENT_ERROR') return '';
      throw e;
    });
  }

  /** Long poll: resolves when the VM reaches `target`, rejects when it fails, vanishes or times out. */
  wait(idOrName: string, target: VmState, timeoutS: number): Promise<Vm> {
    return waitForState(this.ctx, idOrName, target, timeoutS);
  }

  /** What an agent reports (heartbeats: `complete`; pushes: only what changed). */
  reconcile(hostId: string, statuses: AgentVmStatus[], complete: boolean): Promise<void> {
    return reconcileHost(this.ctx, hostId, statuses, complete);
  }

  /** Auto-stop for VMs whose `timeout` elapsed. */
  stopExpired(): Promise<void> {
    return stopExpired(this.ctx, (vmId) => this.action(vmId, 'stop', 'timeout'));
  }

  /** Resolves when every operation in flight has finished, or after `timeoutMs`; true when all did. */
  drain(timeoutMs = Infinity): Promise<boolean> {
    return this.ctx.operations.drain(timeoutMs);
  }

  /** Operations in flight (shutdown logs them). */
  inFlight(): string[] {
    return this.ctx.operations.vmIds();
  }
}
