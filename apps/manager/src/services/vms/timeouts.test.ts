import { describe, expect, it } from 'vitest';
import { stopAtFor } from './timeouts.ts';

describe('stopAtFor', () => {
  const started = new Date('2026-01-01T00:00:00.000Z');

  it('counts the timeout from the start', () => {
    expect(stopAtFor('90s', started)?.toISOString()).toBe('2026-01-01T00:01:30.000Z');
    expect(stopAtFor('2h', started.toISOString())?.toISOString()).toBe('2026-01-01T02:00:00.000Z');
  });

  it('is none without a timeout or while the VM has not started', () => {
    expect(stopAtFor(null, started)).toBeNull();
    expect(stopAtFor(undefined, started)).toBeNull();
    expect(stopAtFor('', started)).toBeNull();
    expect(stopAtFor('10m', null)).toBeNull();
  });
});
