import { EventEmitter } from 'node:events';
import type { StreamEvent, Vm } from '@hearth/contract';
import type { VmBus } from './bus.ts';

type Change = Extract<StreamEvent, { type: 'vm' | 'gone' }>;

/** Which projects' changes a listener may see. */
export type Visible = (project: string) => boolean;

/**
 * The VM changes behind `GET /v1/events`, numbered and kept in a ring so a client that reconnects
 * (EventSource does so by itself, with Last-Event-ID) gets what it missed. Numbers start at this
 * process's start time × 1000, so they keep increasing across manager restarts and a position from
 * an earlier process is recognisably older than anything kept: the client is told to refetch.
 * Each change keeps the VM's project (a `gone` event names none) so that listeners hear only
 * of the projects they may view: `'change'` is emitted as (change, project). `'reset'` (seq) tells
 * every listener that changes were missed.
 */
export class ChangeFeed extends EventEmitter {
  private seq: number;
  private readonly ring: { change: Change; project: string }[] = [];

  constructor(
    bus: VmBus,
    private readonly keep = 2048,
  ) {
    super();
    this.setMaxListeners(0);
    this.seq = Date.now() * 1000;
    bus.on('vm', (vm: Vm) => this.push({ type: 'vm', seq: ++this.seq, vm }, vm.project));
    bus.on('gone', (vmId: string, project: string) =>
      this.push({ type: 'gone', seq: ++this.seq, vmId }, project),
    );
    // Changes from other replicas were missed (the listening connection to PostgreSQL dropped):
    // nothing kept can be replayed as complete any more, so every resuming client gets `reset`,
    // and every open stream is told now (`'reset'`, with the new position) to refetch.
    bus.on('resync', () => {
      this.ring.length = 0;
      this.emit('reset', ++this.seq);
    });
  }

  get position(): number {
    return this.seq;
  }

  /**
   * Visible changes after `since`, or null when some of them are no longer kept (or `since` is
   * unknown).
   */
  since(since: number, visible: Visible = () => true): Change[] | null {
    if (since > this.seq) return null;
    const oldest = this.ring[0]?.change.seq ?? this.seq + 1;
    if (since < oldest - 1) return null;
    return this.ring.filter((c) => c.change.seq > since && visible(c.project)).map((c) => c.change);
  }

  private push(change: Change, project: string): void {
    this.ring.push({ change, project });
    if (this.ring.length > this.keep) this.ring.shift();
    this.emit('change', change, project);
  }
}
