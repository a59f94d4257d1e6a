import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { Vm } from '@hearth/contract';
import { useSession } from './session.tsx';
import { vmKeys } from './queries.ts';
import { keepNewest } from './stream-reducer.ts';

export type VmActionName = 'start' | 'stop' | 'pause' | 'resume' | 'restart' | 'delete';

const ROUTE = {
  start: 'startVm',
  stop: 'stopVm',
  pause: 'pauseVm',
  resume: 'resumeVm',
  restart: 'restartVm',
  delete: 'deleteVm',
} as const;

/** The states each action starts from (the contract's rules), for enabling buttons. */
export const ACTION_FROM: Record<VmActionName, readonly Vm['state'][]> = {
  start: ['created', 'stopped', 'failed'],
  stop: ['running', 'paused'],
  pause: ['running'],
  resume: ['paused'],
  restart: ['running'],
  delete: ['creating', 'created', 'starting', 'running', 'paused', 'stopped', 'failed'],
};

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
            const next = await client.call(ROUTE[action], { params: { id: vm.id } });
            qc.setQueryData(vmKeys.detail(vm.id), keepNewest(next));
            return { vm, error: null };
          } catch (e) {
            return { vm, error: e as Error };
          }
        }),
      ),
  });
}
