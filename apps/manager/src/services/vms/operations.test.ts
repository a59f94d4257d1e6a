import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { OperationTracker } from './operations.ts';

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
