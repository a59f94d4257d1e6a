import { parseSize, type Vm, type Volume } from '@hearth/contract';

export interface AttachTarget {
  vm: Vm;
  /** Why the API would refuse this VM, or null when it is a valid target. */
  reason: string | null;
}

/** The states a VM may be in to take or give up a volume (neither VMM hot-plugs disks here). */
export const ATTACH_STATES: readonly Vm['state'][] = ['created', 'stopped'];

/**
 * Every VM with whether the API would accept it for this volume, in the order the API checks
 * (VOLUME_IN_USE, VOLUME_HOST_MISMATCH, VOLUME_NEEDS_STOPPED_VM); valid targets first.
 */
export function attachTargets(volume: Volume, vms: Vm[], hostName: (id: string) => string): AttachTarget[] {
  const out = vms.map((vm): AttachTarget => {
    let reason: string | null = null;
    if (volume.attachedTo) reason = 'the volume is attached already; detach it first';
    else if (vm.host !== volume.host)
      reason = vm.host
        ? `on host ${hostName(vm.host)}; the volume lives on ${hostName(volume.host)}`
        : 'not placed on a host yet';
    else if (!ATTACH_STATES.includes(vm.state)) reason = `${vm.state}; stop it first (no disk hot-plug)`;
    return { vm, reason };
  });
  return [...out.filter((t) => !t.reason), ...out.filter((t) => t.reason)];
}

/** Why detach, resize or delete is not possible now, or null when it is. */
export function volumeBlockers(
  volume: Volume,
  attachedVm: Vm | undefined,
): { detach: string | null; resize: string | null; delete: string | null } {
  const vmBusy =
    volume.attachedTo && attachedVm && !ATTACH_STATES.includes(attachedVm.state)
      ? `${attachedVm.name} is ${attachedVm.state}; stop it first`
      : null;
  return {
    detach: volume.attachedTo ? vmBusy : 'not attached',
    resize: vmBusy,
    delete: volume.attachedTo
      ? `attached to ${attachedVm?.name ?? volume.attachedTo}; detach it first`
      : null,
  };
}

/** The resize form's check: grow only. */
export function resizeError(volume: Volume, size: string): string | null {
  // The contract's own reading of sizes (binary units; a bare number is bytes).
  const bytes = parseSize(size);
  if (bytes === null) return 'must look like 2gb or 512mib';
  if (bytes <= volume.sizeMib * 2 ** 20)
    return `must be larger than the current ${volume.sizeMib} MiB (volumes only grow)`;
  return null;
}
