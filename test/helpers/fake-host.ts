import { expect } from 'vitest';
import type { HostInventory } from '@hearth/contract';
import type { RunningManager } from '@hearth/manager';

/** A host that offers QEMU under TCG and nothing else, for API tests that boot no VM. */
export const fakeInventory: HostInventory = {
  cpus: 2,
  memoryMib: 4096,
  memoryFreeMib: 2048,
  diskFreeMib: 100_000,
  kernel: 'test',
  arch: 'x64',
  vmms: [{ kind: 'qemu', available: true, accel: 'tcg', version: '7.2', reason: null }],
  checks: [],
  interfaces: [],
  underlay: null,
  cpuPercent: null,
};

/**
 * Registers a host whose agent URL answers nothing (port 9 on loopback), as an agent would with
 * the join token; returns the agent token the manager issued.
 */
export async function registerFakeHost(
  m: RunningManager,
  name = 'fake-host',
  inventory: HostInventory = fakeInventory,
): Promise<string> {
  const reg = await m.app.inject({
    method: 'POST',
    url: '/v1/hosts/register',
    headers: { authorization: `Bearer ${m.joinToken}` },
    payload: { name, url: 'http://127.0.0.1:9', callbackToken: 'x'.repeat(32), inventory },
  });
  expect(reg.statusCode, reg.body).toBe(200);
  return (reg.json() as { agentToken: string }).agentToken;
}
