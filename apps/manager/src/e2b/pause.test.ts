import { describe, expect, it } from 'vitest';
import { SandboxLocks } from './pause.ts';

describe('SandboxLocks', () => {
  it('runs one operation at a time per sandbox, the next after the one before, even a failed one', async () => {
    const locks = new SandboxLocks();
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = locks.run('a', async () => {
      order.push('a1 start');
      await gate;
      order.push('a1 end');
      throw new Error('a1 failed');
    });
    const second = locks.run('a', async () => {
      order.push('a2');
      return 2;
    });
    const other = locks.run('b', async () => {
      order.push('b');
      return 'b';
    });
    expect(await other).toBe('b');
    expect(order).toEqual(['a1 start', 'b']);
    release();
    await expect(first).rejects.toThrow('a1 failed');
    expect(await second).toBe(2);
    expect(order).toEqual(['a1 start', 'b', 'a1 end', 'a2']);
  });
});
