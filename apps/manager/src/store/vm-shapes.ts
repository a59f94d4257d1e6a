import type {
  BootProfile,
  EgressPolicy,
  PortMapping,
  Vm,
  VmDrainPolicy,
  VmRestartPolicy,
  VmState,
} from '@hearth/contract';
import type { vms, VmGuest } from '../db/schema.ts';

// The shapes VmStore (store/vms.ts) takes: a new VM, list filters, a state change's columns and a
// PATCH's columns.

export interface NewVm {
  id: string;
  name: string;
  project: string;
  state: VmState;
  desiredState: Vm['desiredState'];
  vcpus: number;
  memoryMib: number;
  diskMib: number;
  imageId: string;
  kernelId: string;
  vmm: NonNullable<Vm['vmm']>;
  hostId: string;
  ip: string | null;
  mac: string | null;
  env: Record<string, string>;
  labels: Record<string, string>;
  timeout: string | null;
  guest: VmGuest;
  /** The snapshot this VM was restored or cloned from, for lineage. */
  snapshotId: string | null;
  ports?: PortMapping[];
  egress?: EgressPolicy | null;
  bandwidthMbit?: number | null;
  /** Extra names the VM's networks' DNS forwarders publish for it (DNS labels). */
  dnsAliases?: string[];
  /** Placement constraints it was created with (labels its host must carry; its group). */
  hostSelector?: Record<string, string>;
  antiAffinityGroup?: string | null;
  /** What happens to it when its host is declared dead (default `no`). */
  restartPolicy?: VmRestartPolicy;
  /** What a drain of its host does with it (default `migrate`). */
  drainPolicy?: VmDrainPolicy;
}

export interface VmFilter {
  state?: string;
  host?: string;
  /** The project listed: a list never crosses projects. */
  project: string;
  name?: string;
  limit: number;
  cursor?: string;
}

/** Columns that a state change may set together with the state. */
export interface StatePatch {
  reason?: string | null;
  pid?: number | null;
  accel?: Vm['accel'];
  startedAt?: Date | null;
  stopAt?: Date | null;
  desiredState?: Vm['desiredState'];
  bootProfile?: BootProfile | null;
  /** A move to another host (failover), or none (`lost`). */
  hostId?: string | null;
  vmm?: Vm['vmm'];
}

/** What a PATCH of a VM may change, by field; each maps to one column. */
export interface VmPatch {
  name?: string;
  labels?: Record<string, string>;
  ports?: PortMapping[];
  egress?: EgressPolicy | null;
  bandwidthMbit?: number | null;
  vcpus?: number;
  memoryMib?: number;
  timeout?: string | null;
  stopAt?: Date | null;
  restartPolicy?: VmRestartPolicy;
  /** What a drain of its host does with it (default `migrate`). */
  drainPolicy?: VmDrainPolicy;
}

export type VmSet = Partial<typeof vms.$inferInsert>;

export const PATCH_COLUMNS = {
  name: 'name',
  labels: 'labels',
  ports: 'ports',
  egress: 'egress',
  bandwidthMbit: 'bandwidth_mbit',
  vcpus: 'vcpus',
  memoryMib: 'memory_mib',
  timeout: 'timeout',
  stopAt: 'stop_at',
  restartPolicy: 'restart_policy',
  drainPolicy: 'drain_policy',
} as const satisfies Record<keyof VmPatch, keyof typeof vms.$inferSelect>;

/** The columns a patch changes, in the order given (the `patched` event lists them). */
export function vmPatchColumns(p: VmPatch): string[] {
  return (Object.keys(p) as (keyof VmPatch)[]).filter((k) => p[k] !== undefined).map((k) => PATCH_COLUMNS[k]);
}
