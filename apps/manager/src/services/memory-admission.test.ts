import { describe, expect, it } from 'vitest';
import { HearthError, type VmmAvailability } from '@hearth/contract';
import { fakeInventory } from '../../../../test/helpers/fake-host.ts';
import { useApiPlatform } from '../../../../test/helpers/api-harness.ts';
import type { HostRow } from '../store/mappers.ts';
import { memoryPolicyFromEnv, placeVm } from './scheduler.ts';

const qemu: VmmAvailability = { kind: 'qemu', available: true, accel: 'tcg', version: '7.2', reason: null };

function host(name: string, memoryMib: number, memoryFreeMib: number): HostRow {
  return {
    id: `host_${name}`,
    name,
    url: 'http://127.0.0.1:9',
    callback_token: 'x',
    state: 'ready',
    cordoned: false,
    drain: null,
    inventory: { ...fakeInventory, memoryMib, memoryFreeMib, vmms: [qemu] },
    last_heartbeat_at: new Date(),
    created_at: new Date(),
    tls_pins: null,
    tls_issued: false,
    labels: {},
    cpu_overcommit: null,
    memory_overcommit: null,
    dead_at: null,
  };
}

const policy = { reserveMib: 512, overheadMib: 64 };
const refusal = (f: () => unknown): HearthError => {
  try {
    f();
  } catch (e) {
    if (e instanceof HearthError) return e;
    throw e;
  }
  throw new Error('placement was admitted');
};

describe('memory admission at placement', () => {
  it('admits a VM whose guest RAM and VMM overhead fit under available memory less the reserve', () => {
    // 128 + 64 + 512 = 704 MiB exactly.
    expect(placeVm([host('a', 8192, 704)], { vcpus: 1, memoryMib: 128 }, policy).host.name).toBe('a');
  });

  it('refuses one MiB short as no host available, naming the constraint and the numbers', () => {
    const e = refusal(() => placeVm([host('a', 8192, 703)], { vcpus: 1, memoryMib: 128 }, policy));
    expect(e.code).toBe('NO_HOST_AVAILABLE');
    expect(e.message).toMatch(
      /no host met: memory \(a needs 192 MiB \(128 guest \+ 64 VMM\), 191 free ×1\.0 \(703 available less a 512 reserve\)\)/,
    );
    expect(e.detail).toEqual({
      constraints: ['memory'],
      hosts: [
        {
          host: 'a',
          reasons: [
            {
              constraint: 'memory',
              why: expect.any(String),
              needMib: 192,
              guestMib: 128,
              overheadMib: 64,
              reserveMib: 512,
              availableMib: 703,
              promisedMib: 0,
              overcommit: 1,
            },
          ],
        },
      ],
    });
  });

  it('picks the host with the most room, and a VM larger than any host stays a 422', () => {
    const hosts = [host('small', 8192, 1000), host('roomy', 8192, 3000)];
    expect(placeVm(hosts, { vcpus: 1, memoryMib: 512 }, policy).host.name).toBe('roomy');
    const e = refusal(() => placeVm(hosts, { vcpus: 1, memoryMib: 8000 }, policy));
    expect(e.code).toBe('MEMORY_EXCEEDS_HOST');
    expect(e.message).toMatch(/at most 7616 MiB/);
  });

  it('reads the reserve and overhead from the environment, ignoring what is not a number', () => {
    expect(memoryPolicyFromEnv({ HEARTH_MEMORY_RESERVE_MIB: '2048', HEARTH_VM_OVERHEAD_MIB: 'x' })).toEqual({
      reserveMib: 2048,
    });
  });
});

describe('memory admission through the API', () => {
  const api = useApiPlatform({
    inventory: { ...fakeInventory, memoryMib: 4096, memoryFreeMib: 1000 },
    platform: { manager: { memoryPolicy: { reserveMib: 600, overheadMib: 100 } } },
  });

  it('answers 503 NO_HOST_AVAILABLE with the numbers when the host reports too little available memory', async () => {
    const r = await api.inject({
      method: 'POST',
      url: '/v1/vms',
      payload: { name: 'too-big', memoryMib: 512 },
    });
    expect(r.statusCode, r.body).toBe(503);
    const body = r.json() as { error: { code: string; message: string; detail: Record<string, unknown> } };
    expect(body.error.code).toBe('NO_HOST_AVAILABLE');
    expect(body.error.detail).toMatchObject({
      constraints: ['memory'],
      hosts: [{ host: 'fake-host', reasons: [{ constraint: 'memory', needMib: 612, reserveMib: 600 }] }],
    });
    expect(body.error.message).toMatch(
      /612 MiB \(512 guest \+ 100 VMM\), 400 free ×1\.0 \(1000 available less a 600 reserve\)/,
    );
    expect(await api.count('vms')).toBe(0);
  });

  it('admits a VM that fits', async () => {
    const r = await api.inject({
      method: 'POST',
      url: '/v1/vms',
      payload: { name: 'fits', memoryMib: 256, start: false },
    });
    expect(r.statusCode, r.body).toBe(201);
  });
});
