import { HearthError, type VmmKind } from '@hearth/contract';
import type { HostRow } from '../store/mappers.ts';
import { judge, rank, type Candidate, type FitRequest } from './placement-fit.ts';
import { DEFAULT_PLACEMENT_POLICY, type PlacementPolicy } from './placement-policy.ts';
import { placementRefusal } from './placement-refusal.ts';

/**
 * Whether a host offers a network feature (`hearth doctor` names). Agents from before the
 * network probe report none at all: they always built NAT bridges, nothing else.
 */
export function hostHasFeature(h: HostRow, f: string): boolean {
  if (f === 'underlay') return Boolean(h.inventory.underlay);
  const probed = h.inventory.checks.some((c) => c.name.startsWith('net-'));
  if (!probed) return f === 'net-nat' || f === 'net-bridge';
  return h.inventory.checks.some((c) => c.name === f && c.ok);
}

/** The interface exists, holds no address, and is no bridge's or bond's port but `bridge`'s. */
export function interfaceUsable(h: HostRow, name: string, bridge: string | null): boolean {
  const i = (h.inventory.interfaces ?? []).find((x) => x.name === name);
  return Boolean(i && !i.addresses.length && (!i.master || i.master === bridge));
}

/**
 * How much of a host's memory a VM takes beyond its guest RAM, and what stays unplaced. Hosts
 * report MemAvailable, which already counts what running VMs hold.
 */
export interface MemoryPolicy {
  /** Host memory kept free of VMs (page cache, the agent, the host's own services), MiB. */
  reserveMib: number;
  /**
   * What the VMM process needs besides guest RAM, MiB: QEMU under TCG measured at about 58 MiB
   * (heap, device state, its share of the binary) plus its translation cache, which fills to about
   * 50 MiB of its 64 MiB cap. With KVM there is no translation cache: 64 suits such hosts.
   */
  overheadMib: number;
}

export const DEFAULT_MEMORY_POLICY: MemoryPolicy = { reserveMib: 512, overheadMib: 112 };

/** HEARTH_MEMORY_RESERVE_MIB and HEARTH_VM_OVERHEAD_MIB; unset or not a number keeps the default. */
export function memoryPolicyFromEnv(env: Record<string, string | undefined>): Partial<MemoryPolicy> {
  const mib = (v: string | undefined) => (v && /^\d+$/.test(v) ? Number(v) : undefined);
  const reserveMib = mib(env.HEARTH_MEMORY_RESERVE_MIB);
  const overheadMib = mib(env.HEARTH_VM_OVERHEAD_MIB);
  return {
    ...(reserveMib !== undefined && { reserveMib }),
    ...(overheadMib !== undefined && { overheadMib }),
  };
}

/**
 * Host disk kept free of VM disks. VM disks are sparse files that grow up to their declared size
 * (never beyond: the guest sees a block device of that size), so a VM is admitted only where the
 * host's real free space, less the reserve, holds its whole declared disk.
 */
export interface DiskPolicy {
  reserveMib: number;
}

export const DEFAULT_DISK_POLICY: DiskPolicy = { reserveMib: 2048 };

/**
 * HEARTH_DISK_RESERVE_MIB (a whole number of MiB), read once at start; unset or empty keeps the
 * default. Anything else stops the start: a typo must not silently leave hosts without a reserve.
 */
export function diskPolicyFromEnv(env: Record<string, string | undefined>): DiskPolicy {
  const v = env.HEARTH_DISK_RESERVE_MIB?.trim();
  if (!v) return { ...DEFAULT_DISK_POLICY };
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) {
    throw new Error(
      `HEARTH_DISK_RESERVE_MIB is "${env.HEARTH_DISK_RESERVE_MIB}": it must be a whole number of MiB (host disk kept free of VM disks and volumes), e.g. 2048; unset, it is ${DEFAULT_DISK_POLICY.reserveMib}.`,
    );
  }
  return { reserveMib: Number(v) };
}

/**
 * The hosts whose free disk, less the reserve, holds `diskMib`; refuses with NO_HOST_AVAILABLE
 * naming the numbers when none does.
 */
export function withDiskRoom<T extends { h: HostRow }>(
  offering: T[],
  diskMib: number,
  disk: DiskPolicy,
  what = 'the VM',
): T[] {
  const room = (h: HostRow) => h.inventory.diskFreeMib - disk.reserveMib;
  const fits = offering.filter((x) => room(x.h) >= diskMib);
  if (fits.length || !offering.length) return fits;
  const best = offering.reduce((a, b) => (room(b.h) > room(a.h) ? b : a)).h;
  throw new HearthError(
    'NO_HOST_AVAILABLE',
    `Placing ${what} failed: no host has the disk space for it: it needs ${diskMib} MiB; the roomiest host, ${best.name}, has ${best.inventory.diskFreeMib} MiB free less a ${disk.reserveMib} MiB reserve.`,
    {
      detail: {
        constraint: 'disk',
        needMib: diskMib,
        reserveMib: disk.reserveMib,
        freeMib: Object.fromEntries(offering.map((x) => [x.h.name, x.h.inventory.diskFreeMib])),
      },
    },
  );
}

export interface Placement {
  host: HostRow;
  vmm: VmmKind;
}

export interface PlaceRequest {
  vcpus: number;
  memoryMib: number;
  vmm?: VmmKind | undefined;
  /** The VM's declared disk size, MiB (admitted against the host's real free disk). */
  diskMib?: number;
  /** Only this host (id or name). */
  host?: string | undefined;
  /** What the VM's networks need from a host: kernel features and interfaces (bridged). */
  net?: { features: string[]; interfaces: { name: string; bridge: string }[] };
  /** Labels its host must carry, each with the same value. */
  hostSelector?: Record<string, string> | undefined;
  /** Its anti-affinity group and the hosts holding a member already (host id → VM names). */
  antiAffinity?: { group: string; members: Map<string, string[]> } | null;
  /** This VM's strategy; default the policy's. */
  placementStrategy?: PlacementPolicy['strategy'] | undefined;
}

/**
 * Picks the host for a VM: ready, not cordoned, offering the VMM and the VM's networks, then
 * every placement constraint (host selector, anti-affinity group, CPU and memory under the host's
 * overcommit ratios, disk against what is already promised); the strategy orders those that fit.
 * Errors name the limit that was hit so the user can act on it.
 */
export function placeVm(
  hosts: HostRow[],
  req: PlaceRequest,
  memory: MemoryPolicy = DEFAULT_MEMORY_POLICY,
  disk: DiskPolicy = DEFAULT_DISK_POLICY,
  policy: PlacementPolicy = DEFAULT_PLACEMENT_POLICY,
): Placement {
  const want = req.host;
  if (want && !hosts.some((h) => h.id === want || h.name === want)) {
    throw new HearthError('HOST_NOT_FOUND', `Placing the VM failed: there is no host "${want}".`, {
      fields: { host: ['no such host'] },
    });
  }
  const up = hosts.filter(
    (h) => h.state === 'ready' && !h.cordoned && (!want || h.id === want || h.name === want),
  );
  if (up.length === 0) {
    throw new HearthError(
      'NO_HOST_AVAILABLE',
      'Placing the VM failed: no host is ready (none registered, offline or cordoned).',
      // A host that is only offline may be back in a moment (an agent or manager restart).
      hosts.some((h) => h.state === 'offline' && !h.cordoned) ? { retryAfterS: 5 } : {},
    );
  }
  const lacks = (h: HostRow): string[] => [
    ...(req.net?.features ?? []).filter((f) => !hostHasFeature(h, f)),
    ...(req.net?.interfaces ?? [])
      .filter((i) => !interfaceUsable(h, i.name, i.bridge))
      .map((i) => `a free interface ${i.name}`),
  ];
  const ready = up.filter((h) => lacks(h).length === 0);
  if (ready.length === 0) {
    const why = up.map((h) => `${h.name} lacks ${lacks(h).join(', ')}`).join('; ');
    throw new HearthError(
      'NETWORK_FEATURE_MISSING',
      `Placing the VM failed: no host can carry its networks (${why}).`,
      { detail: { hosts: Object.fromEntries(up.map((h) => [h.name, lacks(h)])) } },
    );
  }
  const offering = ready
    .map((h) => {
      const usable = h.inventory.vmms.filter((v) => v.available && (!req.vmm || v.kind === req.vmm));
      // Firecracker first when both are usable: it boots faster and lighter than QEMU.
      usable.sort((a, b) => (a.kind === 'firecracker' ? -1 : 0) - (b.kind === 'firecracker' ? -1 : 0));
      return { h, vmm: usable[0]?.kind };
    })
    .filter((x): x is Candidate => Boolean(x.vmm));
  if (offering.length === 0) {
    const reasons = ready
      .flatMap((h) => h.inventory.vmms.filter((v) => v.kind === req.vmm).map((v) => `${h.name}: ${v.reason}`))
      .join('; ');
    throw new HearthError(
      'VMM_UNAVAILABLE',
      `Placing the VM failed: no host can run ${req.vmm ?? 'any VMM'} (${reasons || 'no VMM found'}).`,
      {
        fields: { vmm: [reasons || 'unavailable'] },
      },
    );
  }
  sizeWithinHosts(offering, req, memory);
  const fit: FitRequest = {
    vcpus: req.vcpus,
    memoryMib: req.memoryMib,
    diskMib: req.diskMib ?? 0,
    hostSelector: req.hostSelector ?? {},
    antiAffinity: req.antiAffinity ?? null,
    strategy: req.placementStrategy ?? policy.strategy,
  };
  const judged = offering.map((c) => ({ ...c, ...judge(c.h, fit, memory, disk, policy) }));
  const fits = judged.filter((x) => x.reasons.length === 0);
  if (fits.length === 0) {
    throw placementRefusal(
      judged.map((x) => ({ host: x.h.name, reasons: x.reasons })),
      {
        hostSelector: fit.hostSelector,
        antiAffinityGroup: fit.antiAffinity?.group ?? null,
        what: 'the VM',
      },
    );
  }
  const best = rank(fits, fit.strategy)[0]!;
  return { host: best.h, vmm: best.vmm };
}

/**
 * A VM larger than any host could ever hold is the caller's mistake (422, naming the largest);
 * one that fits a host's size but not what is free there now is refused later, by constraint.
 */
function sizeWithinHosts(offering: Candidate[], req: PlaceRequest, memory: MemoryPolicy): void {
  const maxCpus = Math.max(...offering.map((x) => x.h.inventory.cpus));
  if (req.vcpus > maxCpus) {
    throw new HearthError(
      'VCPUS_EXCEED_HOST',
      `Placing the VM failed: ${req.vcpus} vCPUs asked, the largest host has ${maxCpus}.`,
      {
        fields: { vcpus: [`at most ${maxCpus}`] },
      },
    );
  }
  const need = req.memoryMib + memory.overheadMib;
  const biggest = Math.max(...offering.map((x) => x.h.inventory.memoryMib - memory.reserveMib));
  if (need > biggest) {
    const most = Math.max(0, biggest - memory.overheadMib);
    throw new HearthError(
      'MEMORY_EXCEEDS_HOST',
      `Placing the VM failed: ${req.memoryMib} MiB asked, the largest host can give a VM at most ${most} MiB.`,
      { fields: { memoryMib: [`at most ${most}`] } },
    );
  }
}
