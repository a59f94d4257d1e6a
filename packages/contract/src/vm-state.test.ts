import { describe, expect, it } from 'vitest';
import { VM_ACTIONS, VM_STATES, actionRule, canTransition, isTransitional } from './vm-state.ts';

describe('VM state machine', () => {
  it('lets every action enter a state reachable from each of its source states', () => {
    for (const action of VM_ACTIONS) {
      const rule = actionRule(action);
      for (const from of rule.from)
        expect(canTransition(from, rule.enters), `${action} from ${from}`).toBe(true);
    }
  });

  it('refuses illegal transitions', () => {
    expect(canTransition('stopped', 'paused')).toBe(false);
    expect(canTransition('deleting', 'running')).toBe(false);
    expect(canTransition('creating', 'running')).toBe(false);
  });

  it('does not allow pausing a stopped VM or starting a running one', () => {
    expect(actionRule('pause').from).not.toContain('stopped');
    expect(actionRule('start').from).not.toContain('running');
  });

  it('marks exactly the in-between states as transitional', () => {
    const moving = ['creating', 'starting', 'pausing', 'resuming', 'stopping', 'deleting'];
    for (const s of VM_STATES) expect(isTransitional(s), s).toBe(moving.includes(s));
  });

  it('lets every state reach failed or be deleted', () => {
    for (const s of VM_STATES) {
      if (s === 'deleting') continue;
      expect(canTransition(s, 'failed') || canTransition(s, 'deleting'), s).toBe(true);
    }
  });
});

describe('lost VMs', () => {
  it('any VM becomes lost when its host is removed, and a lost VM can only be deleted', () => {
    for (const s of VM_STATES) expect(canTransition(s, 'lost'), s).toBe(true);
    for (const s of VM_STATES) if (s !== 'lost') expect(canTransition('lost', s), s).toBe(s === 'deleting');
    expect(actionRule('delete').from).toContain('lost');
    expect(actionRule('start').from).not.toContain('lost');
  });
});

describe('unknown VMs (their host went silent)', () => {
  it('any VM but a lost or deleting one may become unknown', () => {
    for (const s of VM_STATES) expect(canTransition(s, 'unknown'), s).toBe(s !== 'lost' && s !== 'deleting');
  });

  it('an unknown VM takes whatever its returning host reports, is restarted elsewhere, lost or deleted', () => {
    for (const to of ['running', 'paused', 'stopped', 'failed', 'starting', 'lost', 'deleting'] as const)
      expect(canTransition('unknown', to), to).toBe(true);
    expect(canTransition('unknown', 'creating')).toBe(false);
    expect(actionRule('delete').from).toContain('unknown');
    expect(actionRule('start').from).not.toContain('unknown');
    expect(isTransitional('unknown')).toBe(false);
  });
});
