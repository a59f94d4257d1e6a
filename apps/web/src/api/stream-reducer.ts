import type { StreamEvent, Vm } from '@hearth/contract';

type Change = Extract<StreamEvent, { type: 'vm' | 'gone' }>;

/**
 * Applies one stream change to the cached VM list (newest last, like the API). A change older
 * than what the list holds (a replay racing a refetch) is ignored, so state never goes backwards.
 */
export function applyToList(list: Vm[] | undefined, e: Change): Vm[] | undefined {
  if (!list) return list;
  if (e.type === 'gone')
    return list.some((v) => v.id === e.vmId) ? list.filter((v) => v.id !== e.vmId) : list;
  const i = list.findIndex((v) => v.id === e.vm.id);
  if (i < 0) return [...list, e.vm];
  if (isOlder(e.vm, list[i]!)) return list;
  const next = list.slice();
  next[i] = e.vm;
  return next;
}

/** The same rule for one cached VM. */
export function applyToDetail(vm: Vm | undefined, e: Change): Vm | undefined {
  if (e.type === 'gone' || !vm || isOlder(e.vm, vm)) return vm;
  return e.vm;
}

const isOlder = (incoming: Vm, cached: Vm) => Date.parse(incoming.updatedAt) < Date.parse(cached.updatedAt);
