import { describe, expect, it } from 'vitest';
import type { Vm } from '@hearth/contract';
import { applyToDetail, applyToList, keepNewest } from './stream-reducer.ts';

const vm = (id: string, state: Vm['state'], updatedAt: string) => ({ id, state, updatedAt }) as Vm;

describe('event stream reducer', () => {
  const a1 = vm('a', 'starting', '2025-01-01T00:00:01Z');
  const a2 = vm('a', 'running', '2025-01-01T00:00:02Z');
  const b = vm('b', 'created', '2025-01-01T00:00:01Z');

  it('updates in place, appends new VMs last and removes deleted ones', () => {
    expect(applyToList([a1, b], { type: 'vm', seq: 1, vm: a2 })).toEqual([a2, b]);
    expect(applyToList([b], { type: 'vm', seq: 2, vm: a1 })).toEqual([b, a1]);
    expect(applyToList([a1, b], { type: 'gone', seq: 3, vmId: 'a' })).toEqual([b]);
  });

  it('never moves state backwards; the list is left alone until loaded', () => {
    const list = [a2, b];
    expect(applyToList(list, { type: 'vm', seq: 4, vm: a1 })).toBe(list);
    expect(applyToList(undefined, { type: 'vm', seq: 5, vm: a1 })).toBeUndefined();
    expect(applyToDetail(a2, { type: 'vm', seq: 6, vm: a1 })).toBe(a2);
    expect(applyToDetail(a1, { type: 'vm', seq: 7, vm: a2 })).toBe(a2);
    expect(applyToDetail(undefined, { type: 'vm', seq: 8, vm: a2 })).toBe(a2);
    expect(applyToDetail(a2, { type: 'gone', seq: 9, vmId: 'a' })).toBe(a2);
  });

  it("keeps the stream's state over an action's answer that is not newer", () => {
    expect(keepNewest(a1)(a2)).toBe(a2);
    expect(keepNewest(a1)(a1)).toBe(a1);
    expect(keepNewest(a2)(a1)).toBe(a2);
    expect(keepNewest(a1)(undefined)).toBe(a1);
  });
});
