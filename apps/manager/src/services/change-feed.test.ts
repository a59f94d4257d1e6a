import { describe, expect, it } from 'vitest';
import type { Vm } from '@hearth/contract';
import { VmBus } from './bus.ts';
import { ChangeFeed } from './change-feed.ts';

const vm = (id: string, project = 'default') => ({ id, project, state: 'running' }) as Vm;

describe('ChangeFeed', () => {
  it('numbers changes and replays those after a position', () => {
    const bus = new VmBus();
    const feed = new ChangeFeed(bus, 3);
    const start = feed.position;
    bus.publish(vm('a'));
    bus.gone('a', 'default');
    expect(feed.position).toBe(start + 2);
    expect(feed.since(start)?.map((c) => c.type)).toEqual(['vm', 'gone']);
    expect(feed.since(start + 1)).toEqual([{ type: 'gone', seq: start + 2, vmId: 'a' }]);
    expect(feed.since(start + 2)).toEqual([]);
  });

  it('replays only the changes of the projects a listener may view', () => {
    const bus = new VmBus();
    const feed = new ChangeFeed(bus, 10);
    const start = feed.position;
    bus.publish(vm('a', 'p1'));
    bus.publish(vm('b', 'p2'));
    bus.gone('a', 'p1');
    bus.gone('b', 'p2');
    const seen = feed.since(start, (p) => p === 'p2');
    expect(seen?.map((c) => (c.type === 'vm' ? c.vm.id : c.vmId))).toEqual(['b', 'b']);
    expect(feed.since(start)?.length).toBe(4);
  });

  it('refuses positions it cannot replay from: evicted, from an earlier process, or in the future', () => {
    const bus = new VmBus();
    const feed = new ChangeFeed(bus, 2);
    const start = feed.position;
    for (const id of ['a', 'b', 'c']) bus.publish(vm(id));
    expect(feed.since(start)).toBeNull();
    expect(feed.since(start + 1)?.length).toBe(2);
    expect(feed.since(42)).toBeNull();
    expect(feed.since(start + 99)).toBeNull();
  });

  it('after changes were missed (resync), tells open listeners to refetch and replays nothing from before', () => {
    const bus = new VmBus();
    const feed = new ChangeFeed(bus, 10);
    const start = feed.position;
    bus.publish(vm('a'));
    const resets: number[] = [];
    feed.on('reset', (seq: number) => resets.push(seq));
    bus.emit('resync');
    expect(resets).toEqual([feed.position]);
    expect(feed.since(start)).toBeNull();
    expect(feed.since(start + 1)).toBeNull();
    bus.publish(vm('b'));
    expect(feed.since(resets[0]!)?.map((c) => c.type)).toEqual(['vm']);
  });
});
