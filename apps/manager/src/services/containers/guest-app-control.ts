import { HearthError, type AppControlBody } from '@hearth/contract';
import type { ContainerRow } from '../../store/containers.ts';
import { controlApp, type AppDeps } from '../app-logs.ts';
import type { AppControl } from './app-control.ts';

const FALL_BACK = ['VM_NO_APP', 'VM_NOT_RUNNING', 'GUEST_AGENT_UNAVAILABLE'];

/** An agent from before app control answers its route with 404 ROUTE_NOT_FOUND. */
function agentLacksRoute(e: HearthError): boolean {
  const d = e.detail as { code?: string } | undefined;
  return e.code === 'AGENT_ERROR' && d?.code === 'ROUTE_NOT_FOUND';
}

/**
 * App control through the guest agent: stop, start and signal the app inside the container's
 * running VM without touching the VM. Answers false (the container verbs then use the VM's own
 * verbs) when the VM is not running or its guest agent cannot control apps (an older agent).
 */
export function guestAppControl(deps: AppDeps): AppControl {
  const run = async (c: ContainerRow, body: AppControlBody, actor: string): Promise<boolean> => {
    const vm = c.vm_id ? await deps.stores.vms.getUnscoped(c.vm_id) : null;
    if (!vm || vm.state !== 'running') return false;
    try {
      await controlApp(deps, vm, body, actor);
      return true;
    } catch (e) {
      if (e instanceof HearthError && (FALL_BACK.includes(e.code) || agentLacksRoute(e))) return false;
      throw e;
    }
  };
  return {
    // The guest applies the container's own stop signal and grace (given at boot); a different
    // signal asked for this stop is sent first.
    async stop(c, signal, _graceMs) {
      if (signal !== c.spec.stopSignal && !(await run(c, { action: 'signal', signal }, 'container')))
        return false;
      return run(c, { action: 'stop' }, 'container');
    },
    start: (c) => run(c, { action: 'start' }, 'container'),
    signal: (c, signal) => run(c, { action: 'signal', signal }, 'container'),
  };
}
