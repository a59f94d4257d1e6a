import { EventEmitter } from 'node:events';
import type { BootProfile } from '@hearth/contract';

/**
 * Durations the services already measure, handed to whoever counts them (each manager's metrics
 * registry listens while its app is open). Emitting costs nothing when nobody listens.
 */
export interface TimingEvents {
  /** A VM reached running: a cold boot, a reboot, a restore from a snapshot or a pool hand-out. */
  start: [source: BootProfile['source'], seconds: number];
  /** A snapshot was taken (or failed) on its host. */
  snapshot: [seconds: number, ok: boolean];
  /** One call to a host agent, by route id, answered or failed. */
  agentCall: [call: string, seconds: number, ok: boolean];
  /** One host's report reconciled: a heartbeat (every VM of the host) or a push (what changed). */
  reconcile: [kind: 'heartbeat' | 'push', seconds: number];
}

export const timings = new EventEmitter<TimingEvents>();
timings.setMaxListeners(0);

export function observeStart(profile: BootProfile): void {
  timings.emit('start', profile.source, profile.totalMs / 1000);
}
