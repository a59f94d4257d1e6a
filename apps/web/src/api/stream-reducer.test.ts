import { describe, expect, it } from 'vitest';
import type { Vm } from '@hearth/contract';
import {
  applyToDetail,
  applyToList,
  keepNewest,
  touchesContainers,
  touchesNetworks,
  touchesPools,
} from './stream-reducer.ts';

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

  it("keeps another project's VMs out of the chosen project's list", () => {
    const ours = { ...b, project: 'team-a' };
    const theirs = { ...a1, project: 'team-b' };
    expect(applyToList([ours], { type: 'vm', seq: 1, vm: theirs }, 'team-a')).toEqual([ours]);
    expect(applyToList([ours], { type: 'vm', seq: 2, vm: theirs }, 'team-b')).toEqual([ours, theirs]);
    // No project chosen: the caller's default, which the stream already follows.
    expect(applyToList([ours], { type: 'vm', seq: 3, vm: theirs }, null)).toEqual([ours, theirs]);
  });

  it("keeps the stream's state over an action's answer that is not newer", () => {
    expect(keepNewest(a1)(a2)).toBe(a2);
    expect(keepNewest(a1)(a1)).toBe(a1);
    expect(keepNewest(a2)(a1)).toBe(a2);
    expect(keepNewest(a1)(undefined)).toBe(a1);
  });

  it('tells when a change can alter network counts and leases', () => {
    const nic = { network: 'net_1', networkName: 'lan', mac: '02:49:00:00:00:01', ip: null };
    const c1 = { ...a1, host: null, networks: [nic] } as Vm;
    const c2 = { ...a2, host: null, networks: [nic] } as Vm;
    // State alone: no.
    expect(touchesNetworks(c1, { type: 'vm', seq: 1, vm: c2 })).toBe(false);
    // A DHCP address learned, a placement, a new or unknown VM, a deleted one: yes.
    const learned = { ...c2, networks: [{ ...nic, ip: '192.168.1.9' }] };
    expect(touchesNetworks(c1, { type: 'vm', seq: 2, vm: learned })).toBe(true);
    expect(touchesNetworks(c1, { type: 'vm', seq: 3, vm: { ...c2, host: 'host_1' } })).toBe(true);
    expect(touchesNetworks(undefined, { type: 'vm', seq: 4, vm: c1 })).toBe(true);
    expect(touchesNetworks(c1, { type: 'gone', seq: 5, vmId: 'a' })).toBe(true);
    // A replayed older change: no.
    expect(touchesNetworks(learned, { type: 'vm', seq: 6, vm: c1 })).toBe(false);
  });

  it('refetches pools when a VM that is or was in a pool changes, appears or goes', () => {
    const free = { ...vm('a', 'running', '2025-01-01T00:00:01Z'), pool: null };
    const later = { ...free, updatedAt: '2025-01-01T00:00:02Z' };
    expect(touchesPools(free, { type: 'vm', seq: 1, vm: later })).toBe(false);
    expect(touchesPools(free, { type: 'gone', seq: 2, vmId: 'a' })).toBe(false);
    const waiting = { ...free, state: 'pooled' as const, pool: 'web' };
    expect(touchesPools(undefined, { type: 'vm', seq: 3, vm: waiting })).toBe(true);
    expect(touchesPools(waiting, { type: 'vm', seq: 4, vm: { ...later, pool: 'web' } })).toBe(true);
    expect(touchesPools(waiting, { type: 'gone', seq: 5, vmId: 'a' })).toBe(true);
    // A VM never seen here may have been a pooled one of a list not loaded.
    expect(touchesPools(undefined, { type: 'gone', seq: 6, vmId: 'x' })).toBe(true);
    // A replayed older change: no.
    expect(
      touchesPools({ ...waiting, updatedAt: later.updatedAt }, { type: 'vm', seq: 7, vm: waiting }),
    ).toBe(false);
  });

  it("refetches containers when a container's VM changes or goes, or a VM reports an app", () => {
    const plain = { ...vm('a', 'running', '2025-01-01T00:00:01Z'), app: null };
    const known = new Set(['ctr-vm']);
    expect(touchesContainers(known, { type: 'vm', seq: 1, vm: plain })).toBe(false);
    expect(touchesContainers(known, { type: 'gone', seq: 2, vmId: 'a' })).toBe(false);
    // The VM of a cached container: any change (booting, stopping) shows on its container.
    expect(touchesContainers(known, { type: 'vm', seq: 3, vm: { ...plain, id: 'ctr-vm' } })).toBe(true);
    expect(touchesContainers(known, { type: 'gone', seq: 4, vmId: 'ctr-vm' })).toBe(true);
    // A VM whose guest reports an app may be a container not cached yet (just created elsewhere).
    const app = {
      state: 'running' as const,
      pid: 1,
      exitCode: null,
      signal: null,
      reason: null,
      restarts: 0,
      health: 'healthy' as const,
      healthLog: [],
      startedAt: null,
      finishedAt: null,
    };
    expect(touchesContainers(new Set(), { type: 'vm', seq: 5, vm: { ...plain, app } })).toBe(true);
  });
});
