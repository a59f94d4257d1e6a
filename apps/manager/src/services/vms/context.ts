import type { Logger } from 'pino';
import { HearthError, type GuestApp } from '@hearth/contract';
import type { HostRow, VmRow } from '../../store/mappers.ts';
import type { Stores } from '../../store/index.ts';
import type { AgentClient } from '../agent-client.ts';
import type { VmBus } from '../bus.ts';
import type { VmNetworking } from '../networks/network-service.ts';
import type { ImageService } from '../../images/image-service.ts';
import type { OperationTracker } from './operations.ts';
import type { Quotas } from '../quotas.ts';
import type { DiskPolicy, MemoryPolicy } from '../scheduler.ts';
import type { PlacementPolicy } from '../placement-policy.ts';

export interface VmServiceDeps {
  stores: Stores;
  agents: AgentClient;
  bus: VmBus;
  log: Logger;
  /** The VM's NICs: planning, addresses, what the agent needs, DHCP learning. */
  networks: VmNetworking;
  /** Counts and inserts or grows VMs within their project's quotas. */
  quotas: Quotas;
  /** Memory admission at placement (reserve, VMM overhead); the scheduler's default when absent. */
  memory?: MemoryPolicy | undefined;
  /** Disk admission at placement (the reserve kept free on each host); the scheduler's default when absent. */
  disk?: DiskPolicy | undefined;
  /** Strategy and default overcommit ratios; the scheduler's default when absent. */
  placement?: PlacementPolicy | undefined;
  /** Builds runtime images (`runtime-node22`) on first use; absent in tests that need none. */
  images?: ImageService | undefined;
  /**
   * The app a container's VM runs, built from the container at each boot (undefined: the VM is no
   * container's, so the app comes from its image).
   */
  apps?: AppSource | undefined;
  /** This manager replica's id (moves in flight are recorded with it and a per-process suffix). */
  replica?: string | undefined;
}

export interface AppSource {
  appFor(vm: VmRow, imageMeta: Record<string, unknown>): Promise<GuestApp | null | undefined>;
}

/** What every part of the VM service works with: its dependencies and the operations in flight. */
export interface VmContext extends VmServiceDeps {
  operations: OperationTracker;
  replica: string;
}

/** The reason a VM carries while it is being restored; the reconciler recognises it. */
export const RESTORING = 'restoring snapshot';

/** The host a VM is placed on. */
export async function hostOf(ctx: VmContext, row: VmRow): Promise<HostRow> {
  if (!row.host_id) throw new HearthError('NO_HOST_AVAILABLE', `VM ${row.id} has no host.`);
  return ctx.stores.hosts.requireForCall(row.host_id);
}

/**
 * The VM's host must have an agent this manager has heard from before a lifecycle call changes
 * the record: waits for it (bounded), else HOST_UNAVAILABLE (503, Retry-After) with nothing changed.
 */
export async function assertHostReachable(ctx: VmContext, row: VmRow, what: string): Promise<void> {
  if (!row.host_id) return;
  await ctx.agents.ready(await hostOf(ctx, row), what);
}
