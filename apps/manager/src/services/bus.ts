import { EventEmitter } from 'node:events';
import type { Vm } from '@hearth/contract';

/** A change as it travels between manager replicas (services/replicas/relay.ts). */
export type BusChange =
  { kind: 'vm'; vm: Vm; from?: Vm['state'] } | { kind: 'gone'; vmId: string; project: string };

/**
 * In-process fan-out of VM changes (wait, the event stream, the UI, pools, containers). Listeners
 * get ('vm', vm, from, remote) and ('gone', vmId, project, remote): `remote` is true for a change
 * another manager replica made, relayed here; whatever must happen once per change (webhook
 * deliveries) acts on local changes only.
 */
export class VmBus extends EventEmitter {
  /** Sends this process's changes to the other replicas; null on a single manager (PGlite). */
  relay: ((change: BusChange) => void) | null = null;

  constructor() {
    super();
    this.setMaxListeners(0);
  }

  /** `from`: the state the VM left, when this change is a state transition. */
  publish(vm: Vm, from?: Vm['state']): void {
    this.emit('vm', vm, from, false);
    this.relay?.({ kind: 'vm', vm, ...(from !== undefined ? { from } : {}) });
  }

  /** A VM was deleted; its project says who may hear of it. */
  gone(vmId: string, project: string): void {
    this.emit('gone', vmId, project, false);
    this.relay?.({ kind: 'gone', vmId, project });
  }

  /** A change another replica made: heard here like a local one, flagged remote, never relayed again. */
  remote(change: BusChange): void {
    if (change.kind === 'vm') this.emit('vm', change.vm, change.from, true);
    else this.emit('gone', change.vmId, change.project, true);
  }
}
