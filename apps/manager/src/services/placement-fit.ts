import type { PlacementStrategy, VmmKind } from '@hearth/contract';
import type { HostRow } from '../store/mappers.ts';
import { ratio, ratiosOf, type PlacementPolicy } from './placement-policy.ts';
import type { DiskPolicy, MemoryPolicy } from './scheduler.ts';

/** What a VM asks of its host beyond being ready and able to run it. */
export interface FitRequest {
  vcpus: number;
  memoryMib: number;
  /** The declared root disk, MiB (0: not checked). */
  diskMib: number;
  hostSelector: Record<string, string>;
  /** The VM's group and the hosts already holding a member (host id → member names). */
  antiAffinity: { group: string; members: Map<string, string[]> } | null;
  strategy: PlacementStrategy;
}

export type Constraint = 'hostSelector' | 'antiAffinity' | 'cpu' | 'memory' | 'disk';

/** Why one host was left out by one constraint, in words and in numbers. */
export interface Exclusion {
  constraint: Constraint;
  why: string;
  [k: string]: unknown;
}

export interface Candidate {
  h: HostRow;
  vmm: VmmKind;
}

interface Scored extends Candidate {
  /** Share of the host's promised capacity taken once the VM is there (0..1). */
  load: number;
  liveFreeMib: number;
}

/** The reasons `h` cannot take the VM (none: it fits), and how loaded it would be. */
export function judge(
  h: HostRow,
  req: FitRequest,
  memory: MemoryPolicy,
  disk: DiskPolicy,
  policy: PlacementPolicy,
): { reasons: Exclusion[]; load: number; liveFreeMib: number } {
  const reasons: Exclusion[] = [];
  const labels = h.labels ?? {};
  const missing = Object.entries(req.hostSelector).filter(([k, v]) => labels[k] !== v);
  if (missing.length) {
    const has = missing.map(([k]) => (k in labels ? `${k}=${labels[k]}` : `no ${k}`));
    reasons.push({ constraint: 'hostSelector', why: `${h.name} has ${has.join(', ')}`, labels });
  }
  const members = req.antiAffinity?.members.get(h.id);
  if (members?.length) {
    reasons.push({ constraint: 'antiAffinity', why: `${h.name} holds ${members.join(', ')}`, vms: members });
  }
  const r = ratiosOf(h, policy);
  const cpuCap = Math.floor(h.inventory.cpus * r.cpu);
  const cpuUsed = h.alloc_vcpus ?? 0;
  if (req.vcpus > h.inventory.cpus || cpuUsed + req.vcpus > cpuCap) {
    const free = Math.max(0, cpuCap - cpuUsed);
    reasons.push({
      constraint: 'cpu',
      why: `${h.name} needs ${req.vcpus} vCPUs, ${free} free of ${h.inventory.cpus} ×${ratio(r.cpu)}`,
      needVcpus: req.vcpus,
      cpus: h.inventory.cpus,
      allocatedVcpus: cpuUsed,
      overcommit: r.cpu,
    });
  }
  // Promised: what active VMs were given (guest RAM and VMM overhead each) against the host's
  // memory less the reserve, times the ratio. Live: what the host reports available now, as
  // before overcommit existed, scaled alike (guests rarely touch all they were given).
  const need = req.memoryMib + memory.overheadMib;
  const memCap = Math.floor((h.inventory.memoryMib - memory.reserveMib) * r.memory);
  const promised = (h.alloc_mem ?? 0) + (h.alloc_count ?? 0) * memory.overheadMib;
  const liveFreeMib = Math.floor((h.inventory.memoryFreeMib - memory.reserveMib) * r.memory);
  const memFree = Math.max(0, Math.min(memCap - promised, liveFreeMib));
  if (need > memFree) {
    reasons.push({
      constraint: 'memory',
      why:
        `${h.name} needs ${need} MiB (${req.memoryMib} guest + ${memory.overheadMib} VMM), ${memFree} free ×${ratio(r.memory)}` +
        (liveFreeMib <= memCap - promised
          ? ` (${h.inventory.memoryFreeMib} available less a ${memory.reserveMib} reserve)`
          : ` (${promised} of ${memCap} promised)`),
      needMib: need,
      guestMib: req.memoryMib,
      overheadMib: memory.overheadMib,
      reserveMib: memory.reserveMib,
      availableMib: h.inventory.memoryFreeMib,
      promisedMib: promised,
      overcommit: r.memory,
    });
  }
  // Root disks are sparse: the host's free space already counts what VMs really wrote, so what
  // they declared is shown (allocatedDiskMib) but not taken off again here.
  const promisedDisk = h.alloc_disk ?? 0;
  const diskFree = h.inventory.diskFreeMib - disk.reserveMib;
  if (req.diskMib > 0 && req.diskMib > diskFree) {
    reasons.push({
      constraint: 'disk',
      why: `${h.name} needs ${req.diskMib} MiB, ${Math.max(0, diskFree)} free (${h.inventory.diskFreeMib} on disk less a ${disk.reserveMib} reserve; ${promisedDisk} declared by its disks)`,
      needMib: req.diskMib,
      freeMib: h.inventory.diskFreeMib,
      reserveMib: disk.reserveMib,
      promisedMib: promisedDisk,
    });
  }
  const load = Math.max(
    memCap > 0 ? (promised + need) / memCap : 1,
    cpuCap > 0 ? (cpuUsed + req.vcpus) / cpuCap : 1,
  );
  return { reasons, load, liveFreeMib };
}

/**
 * The hosts that fit, best first by the strategy: `spread` the least loaded once the VM is
 * there, `pack` the most loaded that still fits. Ties go to the most memory available now,
 * then to the host id (a stable order).
 */
export function rank(
  fits: (Candidate & { load: number; liveFreeMib: number })[],
  strategy: PlacementStrategy,
) {
  const sign = strategy === 'pack' ? -1 : 1;
  return [...fits].sort(
    (a: Scored, b: Scored) =>
      sign * (a.load - b.load) || b.liveFreeMib - a.liveFreeMib || a.h.id.localeCompare(b.h.id),
  );
}
