import { describe, expect, it } from 'vitest';
import { newerThanReport } from './reconcile.ts';

// A heartbeat lists the VMs its host had when it was assembled. A record changed after that (a
// VM that has just started) must not be judged by it, however long the report waited here.
describe('newerThanReport', () => {
  it('allows the trip: a record changed in the last 2 s is newer than a report read at once', () => {
    expect(newerThanReport(1500, 0)).toBe(true);
    expect(newerThanReport(2500, 0)).toBe(false);
  });

  it('adds the time the report waited in the manager before the records were read', () => {
    // Read 5 s after it arrived: a VM started 6 s ago may still be missing from it.
    expect(newerThanReport(6000, 5000)).toBe(true);
    expect(newerThanReport(7500, 5000)).toBe(false);
  });

  it('never shrinks the allowance below the trip', () => {
    expect(newerThanReport(1500, -100)).toBe(true);
  });
});
