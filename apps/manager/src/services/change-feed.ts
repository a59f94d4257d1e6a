import { EventEmitter } from 'node:events';
import type { StreamEvent } from '@hearth/contract';
import type { VmBus } from './bus.ts';

type Change = Extract<StreamEvent, { type: 'vm' | 'gone' }>;

/**
 * The VM changes behind `GET /v1/events`, numbered and kept in a ring so a client that reconnects
 * (EventSource does so by itself, with Last-Event-ID) gets what it missed. Numbers start at this
 * process's start time × 1000, so they keep increasing across manager restarts and a position from
 * an earlier process is recognisably older than anything kept: the client is told to refetch.
 */
export class ChangeFeed extends EventEmitter {
  private seq: number;
  private readonly ring: Change[] = [];

  constructor(
    bus: VmBus,
    private readonly keep = 2048,
  ) {
    super();
    this.setMaxListeners(0);
    this.seq = Date.now() * 1000;
    bus.on('vm', (vm) => this.push({ type: 'vm', seq: ++this.seq, vm }));
    bus.on('gone', (vmId: string) => this.push({ type: 'gone', seq: ++this.seq, vmId }));
  }

  get position(): number {
    return this.seq;
  }

  /** Changes after `since`, or null when some of them are no longer kept (or `since` is unknown). */
  since(since: number): Change[] | null {
    if (since > this.seq) return null;
    const oldest = this.ring[0]?.seq ?? this.seq + 1;
    if (since < oldest - 1) return null;
    return this.ring.filter((c) => c.seq > since);
  }

  private push(change: Change): void {
    this.ring.push(change);
    if (this.ring.length > this.keep) this.ring.shift();
    this.emit('change', change);
  }
}
