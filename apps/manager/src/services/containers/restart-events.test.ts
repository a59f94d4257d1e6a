import { describe, expect, it } from 'vitest';
import { guestRestartCodes, restartMessages } from './restart-events.ts';

describe('restart events of a container', () => {
  it('reads the exit code of each guest attempt; a later boot counting again wins', () => {
    const codes = guestRestartCodes([
      'restarted, exit code 1, attempt 1',
      'health: unhealthy',
      null,
      'restarted, exit code 137, attempt 2',
      'exited with code 3 after 2 restarts',
      'restarted, exit code 3, attempt 1',
    ]);
    expect([...codes]).toEqual([
      [1, 3],
      [2, 137],
    ]);
  });

  it('names every attempt of a coalesced report, with its exit code', () => {
    const codes = new Map([
      [1, 3],
      [2, 3],
    ]);
    expect(restartMessages(0, 2, 0, codes)).toEqual([
      'restarted, exit code 3, attempt 1',
      'restarted, exit code 3, attempt 2',
    ]);
    expect(restartMessages(1, 2, 0, codes)).toEqual(['restarted, exit code 3, attempt 2']);
    expect(restartMessages(2, 2, 0, codes)).toEqual([]);
  });

  it("shifts the guest's count by the restarts before the VM's boot; unknown codes are left out", () => {
    const codes = new Map([[1, 0]]);
    expect(restartMessages(1, 4, 2, codes)).toEqual([
      'restarted, attempt 2',
      'restarted, exit code 0, attempt 3',
      'restarted, attempt 4',
    ]);
  });
});
