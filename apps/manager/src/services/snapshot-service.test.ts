import { describe, expect, it } from 'vitest';
import { HearthError } from '@hearth/contract';
import type { Stores } from '../store/index.ts';
import type { VmRow } from '../store/mappers.ts';
import type { AgentClient } from './agent-client.ts';
import { SnapshotService, type SnapshotServiceDeps } from './snapshot-service.ts';

/** The refusals before anything is recorded or sent to a host: no store write, no agent call. */
function serviceFor(vm: Partial<VmRow>) {
  const calls: string[] = [];
  const untouched = new Proxy(
    {},
    {
      get: (_t, prop) => {
        calls.push(String(prop));
        throw new Error(`unexpected use of ${String(prop)}`);
      },
    },
  );
  const stores = {
    vms: { require: () => Promise.resolve({ id: 'vm_1', name: 'web', ...vm }) },
    hosts: untouched,
    snapshots: untouched,
  } as unknown as Stores;
  const deps = { stores, agents: untouched as AgentClient } as unknown as SnapshotServiceDeps;
  return { svc: new SnapshotService(deps), calls };
}

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => e as HearthError,
  );

describe('SnapshotService.create refusals', () => {
  it('refuses a disk-only snapshot on Firecracker with SNAPSHOT_KIND_UNSUPPORTED and the reason', async () => {
    const { svc, calls } = serviceFor({ vmm: 'firecracker', state: 'running' });
    const e = await refusal(svc.create('web', 'default', { kind: 'disk' }, 'test'));
    expect(e).toBeInstanceOf(HearthError);
    expect(e!.code).toBe('SNAPSHOT_KIND_UNSUPPORTED');
    expect(e!.status).toBe(422);
    expect(e!.message).toContain('firecracker cannot take a disk-only snapshot');
    expect(e!.detail).toMatchObject({ vmm: 'firecracker', kind: 'disk', reason: expect.any(String) });
    expect(calls).toEqual([]);
  });

  it('takes memory only of running or paused VMs, disks of stopped ones too', async () => {
    const stopped = serviceFor({ vmm: 'qemu', state: 'stopped' });
    const e = await refusal(stopped.svc.create('web', 'default', {}, 'test'));
    expect(e!.code).toBe('VM_INVALID_STATE');
    expect(e!.detail).toMatchObject({ allowedFrom: ['running', 'paused'] });
    // A disk-only one of a stopped VM gets past the checks (to the host lookup, here a stub).
    const disk = await refusal(stopped.svc.create('web', 'default', { kind: 'disk' }, 'test'));
    expect(disk!.message).toBe('unexpected use of require');
    const created = serviceFor({ vmm: 'qemu', state: 'created' });
    const never = await refusal(created.svc.create('web', 'default', { kind: 'disk' }, 'test'));
    expect(never!.code).toBe('VM_INVALID_STATE');
    expect(never!.detail).toMatchObject({ allowedFrom: ['running', 'paused', 'stopped'] });
  });
});
