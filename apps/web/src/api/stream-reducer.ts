import type { StreamEvent, Vm } from '@hearth/contract';
import { currentProject } from './project.tsx';

type Change = Extract<StreamEvent, { type: 'vm' | 'gone' }>;

/**
 * Applies one stream change to the cached VM list (newest last, like the API). A change older
 * than what the list holds (a replay racing a refetch) is ignored, so state never goes backwards.
 * The list holds one project's VMs: a VM of another project (a stream not scoped to the chosen
 * project) never joins it.
 */
export function applyToList(
  list: Vm[] | undefined,
  e: Change,
  project: string | null = currentProject(),
): Vm[] | undefined {
  if (!list) return list;
  if (e.type === 'vm' && project !== null && e.vm.project !== project) return list;
  if (e.type === 'gone')
    return list.some((v) => v.id === e.vmId) ? list.filter((v) => v.id !== e.vmId) : list;
  const i = list.findIndex((v) => v.id === e.vm.id);
  if (i < 0) return [...list, e.vm];
  if (isOlder(e.vm, list[i]!)) return list;
  const next = list.slice();
  next[i] = e.vm;
  return next;
}

/**
 * The same rule for one cached VM. An uncached VM is cached too, so a page that opens just after
 * a change (the create wizard moving to the new VM) starts from the latest state.
 */
export function applyToDetail(vm: Vm | undefined, e: Change): Vm | undefined {
  if (e.type === 'gone' || (vm && isOlder(e.vm, vm))) return vm;
  return e.vm;
}

const isOlder = (incoming: Vm, cached: Vm) => Date.parse(incoming.updatedAt) < Date.parse(cached.updatedAt);

/**
 * For an action's answer: it was produced before the request returned, so the stream may already
 * have delivered a later state (a resume finishes before its response arrives); only a strictly
 * newer answer replaces the cache.
 */
export const keepNewest = (answer: Vm) => (cached: Vm | undefined) =>
  cached && Date.parse(answer.updatedAt) <= Date.parse(cached.updatedAt) ? cached : answer;

/**
 * Whether a change can alter what the networks pages show (VM counts, leases): a VM that is new
 * or unknown here, one that is gone, or one whose NICs or host changed (a DHCP address learned,
 * a placement on start). `cached` is the VM as the cache held it before the change.
 */
export function touchesNetworks(cached: Vm | undefined, e: Change): boolean {
  if (e.type === 'gone' || !cached) return true;
  if (isOlder(e.vm, cached)) return false;
  return cached.host !== e.vm.host || JSON.stringify(cached.networks) !== JSON.stringify(e.vm.networks);
}

/**
 * Whether a change can alter what the pools page shows (ready and warming counts, hits): a change
 * of a VM that is or was in a pool, or one gone or unknown here (pooled VMs may be another
 * project's list, never cached).
 */
export function touchesPools(cached: Vm | undefined, e: Change): boolean {
  if (e.type === 'gone') return !cached || cached.pool !== null;
  if (cached && isOlder(e.vm, cached)) return false;
  return e.vm.pool !== null || (cached?.pool ?? null) !== null;
}

/**
 * Whether a change can alter what the containers pages show (state, health, restarts, exit code
 * all follow the container's VM and its app): a change or removal of a VM that a cached container
 * runs in (`containerVms`), or a VM that reports an app (a new container's VM, not cached yet).
 */
export function touchesContainers(containerVms: ReadonlySet<string>, e: Change): boolean {
  if (e.type === 'gone') return containerVms.has(e.vmId);
  return containerVms.has(e.vm.id) || e.vm.app !== null;
}
