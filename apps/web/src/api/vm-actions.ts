import { useMutation, useQueryClient } from '@tanstack/react-query';
import { actionRule, type Vm, type VmAction } from '@hearth/contract';
import { useSession } from './session.tsx';
import { vmKeys } from './queries.ts';
import { keepNewest } from './stream-reducer.ts';

/** The actions the dashboard offers as buttons (a restore starts from a snapshot's page). */
export type VmActionName = Exclude<VmAction, 'restore'>;

/** The route behind each action (its role in `routeRoles` gates the button). */
export const VM_ACTION_ROUTE = {
  start: 'startVm',
  stop: 'stopVm',
  pause: 'pauseVm',
  resume: 'resumeVm',
  restart: 'restartVm',
  delete: 'deleteVm',
} as const;

/** Whether the contract's state machine lets `action` begin from this VM's state (enables buttons). */
export const canAct = (action: VmActionName, vm: Vm): boolean => actionRule(action).from.includes(vm.state);

export interface BulkResult {
  vm: Vm;
  error: Error | null;
}

/**
 * Runs one action on several VMs at once; each answer (the VM in its transitional state) goes
 * straight into the cache and the event stream brings the rest.
 */
export function useVmAction() {
  const { client } = useSession();
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async ({ action, vms }: { action: VmActionName; vms: Vm[] }): Promise<BulkResult[]> =>
      Promise.all(
        vms.map(async (vm) => {
          try {
            const next = await client.call(VM_ACTION_ROUTE[action], { params: { id: vm.id } });
            qc.setQueryData(vmKeys.detail(vm.id), keepNewest(next));
            return { vm, error: null };
          } catch (e) {
            return { vm, error: e as Error };
          }
        }),
      ),
  });
}
