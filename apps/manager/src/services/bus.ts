import { EventEmitter } from 'node:events';
import type { Vm, VmEvent } from '@hearth/contract';

/** In-process fan-out of VM changes (wait, and later the event stream and the UI). */
export class VmBus extends EventEmitter {
  constructor() {
    super();
    this.setMaxListeners(0);
  }

  publish(vm: Vm, event: VmEvent | null): void {
    this.emit('vm', vm, event);
  }

  gone(vmId: string): void {
    this.emit('gone', vmId);
  }
}
