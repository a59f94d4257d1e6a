import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { OperationTracker, type SharedOperations } from './operations.ts';

describe('OperationTracker', () => {
  it('holds a VM busy from its insert until released, and hands over to its first operation', async () => {
    const ops = new OperationTracker(pino({ level: 'silent' }));
    const release = ops.hold('vm1');
    expect(ops.has('vm1')).toBe(true);
    let finish!: () => void;
    ops.track('vm1', () => new Promise<void>((r) => (finish = r)));
    release();
    // Releasing the hold must not forget the operation that took over.
    expect(ops.has('vm1')).toBe(true);
    finish();
    await ops.drain();
    expect(ops.has('vm1')).toBe(false);
  });

  it('a released hold with no operation leaves the VM to the reconciler, and drain does not wait for it', async () => {
    const ops = new OperationTracker(pino({ level: 'silent' }));
    const release = ops.hold('vm2');
    const drained = ops.drain();
    release();
    release(); // idempotent
    expect(await drained).toBe(true);
    expect(ops.has('vm2')).toBe(false);
  });
});

/** What the tracker told the other replicas, in order. */
function recorder(): { shared: SharedOperations; said: string[] } {
  const said: string[] = [];
  return {
    said,
    shared: {
      begin: (id) => void said.push(`begin ${id}`),
      end: (id) => void said.push(`end ${id}`),
      elsewhere: () => Promise.resolve(new Set()),
    },
  };
}

describe('OperationTracker.hold', () => {
  it('marks the VM busy until released and tells the other replicas of both ends', () => {
    const ops = new OperationTracker(pino({ level: 'silent' }));
    const r = recorder();
    ops.shared = r.shared;
    const release = ops.hold('vm_a');
    expect(ops.has('vm_a')).toBe(true);
    release();
    expect(ops.has('vm_a')).toBe(false);
    expect(r.said).toEqual(['begin vm_a', 'end vm_a']);
  });

  it('with shared: false, holds the VM here only and writes nothing for the other replicas', () => {
    const ops = new OperationTracker(pino({ level: 'silent' }));
    const r = recorder();
    ops.shared = r.shared;
    const release = ops.hold('vm_b', { shared: false });
    expect(ops.has('vm_b')).toBe(true);
    release();
    expect(ops.has('vm_b')).toBe(false);
    expect(r.said).toEqual([]);
  });

  it('a boot tracked while held is still told to the other replicas', async () => {
    const ops = new OperationTracker(pino({ level: 'silent' }));
    const r = recorder();
    ops.shared = r.shared;
    const release = ops.hold('vm_c', { shared: false });
    let finish!: () => void;
    ops.track('vm_c', () => new Promise<void>((res) => (finish = res)));
    release();
    expect(ops.has('vm_c')).toBe(true);
    finish();
    await ops.drain();
    expect(ops.has('vm_c')).toBe(false);
    expect(r.said).toEqual(['begin vm_c', 'end vm_c']);
  });
});
