import { describe, expect, it } from 'vitest';
import type { AgentClient } from '../services/agent-client.ts';
import type { Stores } from '../store/index.ts';
import { hostChecksums } from './checksums.ts';

// The manifest's sums: a host that is offline or fails to answer has its entries listed with null
// and the reason, and the others are still summed; the backup never fails for it.
const hosts: Record<string, { id: string; state: string }> = {
  up: { id: 'up', state: 'ready' },
  down: { id: 'down', state: 'offline' },
  broken: { id: 'broken', state: 'ready' },
};
const stores = { hosts: { get: async (id: string) => hosts[id] ?? null } } as unknown as Stores;
const agents = {
  call: async (
    host: { id: string },
    _route: string,
    o: { body: { volumes: string[]; snapshots: string[] } },
  ) => {
    if (host.id === 'broken') throw new Error('connect ECONNREFUSED');
    return {
      volumes: o.body.volumes.map((id) => ({ id, sha256: `sum-${id}`, reason: null })),
      snapshots: o.body.snapshots.map((id) => ({
        id,
        files: { mem: `sum-${id}` },
        reason: null,
        missing: false,
      })),
    };
  },
} as unknown as AgentClient;

describe('hostChecksums', () => {
  it('sums what ready hosts answer; lists the rest with null and why', async () => {
    const r = await hostChecksums(
      { stores, agents },
      {
        volumes: [
          { id: 'v1', host: 'up' },
          { id: 'v2', host: 'down' },
          { id: 'v3', host: 'broken' },
          { id: 'v4', host: 'removed' },
        ],
        snapshots: [
          { id: 's1', host: 'up' },
          { id: 's2', host: 'down' },
        ],
      },
    );
    expect(r.volumes.get('v1')).toEqual({ sha256: 'sum-v1', reason: null });
    expect(r.volumes.get('v2')).toEqual({
      sha256: null,
      reason: expect.stringMatching(/host down is offline/),
    });
    expect(r.volumes.get('v3')).toEqual({
      sha256: null,
      reason: expect.stringMatching(/did not answer.*ECONNREFUSED/),
    });
    expect(r.volumes.get('v4')).toEqual({
      sha256: null,
      reason: expect.stringMatching(/host removed is gone/),
    });
    expect(r.snapshots.get('s1')).toEqual({ files: { mem: 'sum-s1' }, reason: null });
    expect(r.snapshots.get('s2')?.files).toBeNull();
  });
});
