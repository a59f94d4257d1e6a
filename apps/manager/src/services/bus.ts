import { EventEmitter } from 'node:events';
import type { Vm } from '@hearth/contract';

/** In-process fan-out of VM changes (wait, and later the event stream and the UI). */
export class VmBus extends EventEmitter {
  constructor() {
    super();
    this.setMaxListeners(0);
  }

  /** `from`: the state the VM left, when this change is a state transition. */
  publish(vm: Vm, from?: Vm['state']): void {
    this.emit('vm', vm, from);
  }

  /** A VM was deleted; its project says who may hear of it. */
  gone(vmId: string, project: string): void {
    this.emit('gone', vmId, project);
  }
}
