import { HearthError, type Vm, type VmState } from '@hearth/contract';
import { vmFromRow } from '../../store/mappers.ts';
import type { VmContext } from './context.ts';

const firstLine = (s: string | null) => (s ?? '').split('\n')[0] ?? '';

/** Long poll: resolves when the VM reaches `target`, rejects when it fails, vanishes or times out. */
export async function waitForState(
  ctx: VmContext,
  idOrName: string,
  project: string,
  target: VmState,
  timeoutS: number,
): Promise<Vm> {
  const row = await ctx.stores.vms.require(idOrName, project);
  const id = row.id;
  const bus = ctx.bus;
  return new Promise<Vm>((resolve, reject) => {
    const done = (fn: () => void) => {
      clearTimeout(timer);
      bus.off('vm', onVm);
      bus.off('gone', onGone);
      fn();
    };
    const check = (vm: Vm) => {
      if (vm.state === target) done(() => resolve(vm));
      else if (vm.state === 'failed') {
        done(() =>
          reject(
            new HearthError(
              'VM_FAILED',
              `Waiting for VM "${vm.name}" to be ${target} failed: it failed. ${firstLine(vm.stateReason)}`,
              { detail: { state: vm.state, reason: vm.stateReason } },
            ),
          ),
        );
      }
    };
    const onVm = (vm: Vm) => vm.id === id && check(vm);
    const onGone = (gone: string) =>
      gone === id &&
      done(() =>
        reject(new HearthError('VM_NOT_FOUND', `Waiting for VM "${row.name}" failed: it was deleted.`)),
      );
    const timer = setTimeout(
      () =>
        done(() =>
          reject(
            new HearthError(
              'WAIT_TIMEOUT',
              `Waiting for VM "${row.name}" to be ${target} timed out after ${timeoutS} s.`,
            ),
          ),
        ),
      timeoutS * 1000,
    );
    bus.on('vm', onVm);
    bus.on('gone', onGone);
    // Re-read after subscribing so a change between the first read and now is not missed.
    void ctx.stores.vms.getUnscoped(id).then((fresh) => {
      if (!fresh) onGone(id);
      else check(vmFromRow(fresh));
    });
  });
}
