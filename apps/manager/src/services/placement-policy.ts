import type { PlacementStrategy } from '@hearth/contract';
import type { HostRow } from '../store/mappers.ts';

/**
 * The manager-wide placement settings: how the host is chosen among those that fit, and how much
 * of a host's CPUs and memory VMs may be promised unless the host says otherwise (PATCH /v1/hosts).
 */
export interface PlacementPolicy {
  strategy: PlacementStrategy;
  /**
   * vCPUs promised per host CPU. Small VMs are mostly idle, and a vCPU is a thread the host
   * schedules like any other: 16 is the long-standing default of other clouds (OpenStack).
   */
  cpuOvercommit: number;
  /**
   * Guest memory promised per MiB the host has (less the reserve). 1: a guest that touches all of
   * its memory never pushes the host into swapping or the OOM killer.
   */
  memoryOvercommit: number;
}

export const DEFAULT_PLACEMENT_POLICY: PlacementPolicy = {
  strategy: 'spread',
  cpuOvercommit: 16,
  memoryOvercommit: 1,
};

/** A host's ratios: its own where an administrator set them, else the manager's. */
export function ratiosOf(h: HostRow, p: PlacementPolicy): { cpu: number; memory: number } {
  return { cpu: h.cpu_overcommit ?? p.cpuOvercommit, memory: h.memory_overcommit ?? p.memoryOvercommit };
}

/** `1` → `1.0`, `1.25` → `1.25`: ratios as messages show them. */
export const ratio = (r: number): string => (Number.isInteger(r) ? r.toFixed(1) : String(r));
