import { z } from 'zod';

/** VM lifecycle states. The pure transition rules live here and nowhere else. */
export const VM_STATES = [
  'creating',
  'created',
  'starting',
  'running',
  'pooled',
  'pausing',
  'paused',
  'resuming',
  'stopping',
  'stopped',
  'failed',
  'deleting',
  // Its host was removed for good (`hearth host rm --force`): only deleting the record is left.
  'lost',
  // Its host stopped heartbeating past the grace period: what the VM is doing is not known until
  // the host speaks again (reconciled then) or is declared dead (restarted elsewhere or lost).
  'unknown',
] as const;
export const VmState = z.enum(VM_STATES);
export type VmState = z.infer<typeof VmState>;

export const VM_ACTIONS = ['start', 'stop', 'pause', 'resume', 'restart', 'restore', 'delete'] as const;
export const VmAction = z.enum(VM_ACTIONS);
export type VmAction = z.infer<typeof VmAction>;

/** Which state each state may move to. Anything else is a bug or a stale request. */
const TRANSITIONS: Record<VmState, readonly VmState[]> = {
  creating: ['created', 'starting', 'failed', 'deleting'],
  created: ['starting', 'failed', 'deleting'],
  starting: ['running', 'pooled', 'stopped', 'failed', 'deleting'],
  // pooled → running: handed out by a create with `pool`; a pooled VM is never stopped by a user.
  pooled: ['running', 'stopping', 'stopped', 'failed', 'deleting'],
  // running/paused → starting: an in-place restore from a snapshot.
  running: ['pausing', 'paused', 'stopping', 'stopped', 'starting', 'failed', 'deleting'],
  pausing: ['paused', 'running', 'failed'],
  paused: ['resuming', 'running', 'stopping', 'stopped', 'starting', 'failed', 'deleting'],
  resuming: ['running', 'paused', 'failed'],
  stopping: ['stopped', 'running', 'failed'],
  stopped: ['starting', 'running', 'failed', 'deleting'],
  failed: ['starting', 'stopped', 'running', 'paused', 'deleting'],
  deleting: ['failed'],
  lost: ['deleting'],
  // Whatever the agent reports when its host returns; `starting` when restarted elsewhere.
  unknown: ['running', 'paused', 'stopped', 'failed', 'starting', 'pooled', 'deleting'],
};

export function canTransition(from: VmState, to: VmState): boolean {
  // Any VM becomes lost when its host is removed for good, whatever it was doing, and any VM but a
  // lost or deleted one becomes unknown when its host goes quiet.
  return (
    from === to ||
    to === 'lost' ||
    (to === 'unknown' && from !== 'lost' && from !== 'deleting') ||
    TRANSITIONS[from].includes(to)
  );
}

/** The states from which a user action may begin, and the transitional state it enters. */
const ACTIONS: Record<VmAction, { from: readonly VmState[]; enters: VmState }> = {
  start: { from: ['created', 'stopped', 'failed'], enters: 'starting' },
  stop: { from: ['running', 'paused'], enters: 'stopping' },
  pause: { from: ['running'], enters: 'pausing' },
  resume: { from: ['paused'], enters: 'resuming' },
  restart: { from: ['running'], enters: 'stopping' },
  restore: { from: ['running', 'paused', 'stopped', 'failed'], enters: 'starting' },
  delete: {
    from: [
      'creating',
      'created',
      'starting',
      'running',
      'pooled',
      'paused',
      'stopped',
      'failed',
      'lost',
      'unknown',
    ],
    enters: 'deleting',
  },
};

export function actionRule(action: VmAction): { from: readonly VmState[]; enters: VmState } {
  return ACTIONS[action];
}

export function isTransitional(state: VmState): boolean {
  return ['creating', 'starting', 'pausing', 'resuming', 'stopping', 'deleting'].includes(state);
}
