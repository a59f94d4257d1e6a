import { describe, expect, it } from 'vitest';
import { HearthError, type HostInventory, type VmmAvailability } from '@hearth/contract';
import { FirecrackerDriver } from '@hearth/firecracker';
import type { HostRow } from '../store/mappers.ts';
import { diskPolicyFromEnv, placeVm } from './scheduler.ts';

const qemu: VmmAvailability = { kind: 'qemu', available: true, accel: 'tcg', version: '7.2', reason: null };
const fc = (available: boolean, reason: string | null = null): VmmAvailability => ({
  kind: 'firecracker',
  available,
  accel: available ? 'kvm' : null,
  version: available ? '1.13.2' : null,
  reason,
});

function host(vmms: VmmAvailability[]): HostRow {
  const inventory: HostInventory = {
    cpus: 4,
    memoryMib: 8192,
    memoryFreeMib: 4096,
    diskFreeMib: 100_000,
    kernel: 'test',
    arch: 'x64',
    vmms,
    checks: [],
    interfaces: [],
    underlay: null,
    cpuPercent: null,
  };
  return {
    id: 'host_a',
    name: 'a',
    url: 'http://127.0.0.1:9',
    callback_token: 'x',
    state: 'ready',
    cordoned: false,
    drain: null,
    inventory,
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

const req = { vcpus: 1, memoryMib: 128 };

describe('VMM choice', () => {
  it('prefers Firecracker wherever it is usable, whatever order the agent lists VMMs in', () => {
    expect(placeVm([host([qemu, fc(true)])], req).vmm).toBe('firecracker');
    expect(placeVm([host([fc(true), qemu])], req).vmm).toBe('firecracker');
  });

  it('falls back to QEMU when Firecracker is unavailable', () => {
    expect(placeVm([host([fc(false, 'no KVM'), qemu])], req).vmm).toBe('qemu');
  });

  it('asking for Firecracker on this very host is a 4xx naming the probe’s reason', async () => {
    const probed = await new FirecrackerDriver({
      binary: 'firecracker-not-installed-here',
      jailer: false,
    }).probe();
    expect(probed.available).toBe(false); // no test machine can run Firecracker: its KVM cannot run ordinary guests
    const err = (() => {
      try {
        placeVm([host([probed, qemu])], { ...req, vmm: 'firecracker' });
      } catch (e) {
        return e as HearthError;
      }
      return null;
    })();
    expect(err?.code).toBe('VMM_UNAVAILABLE');
    expect(err?.message).toContain(probed.reason!);
    expect(probed.reason).toMatch(/firecracker-not-installed-here not found/);
  });
});

describe('disk admission', () => {
  const withDisk = (name: string, diskFreeMib: number): HostRow => {
    const h = host([qemu]);
    return { ...h, id: `host_${name}`, name, inventory: { ...h.inventory, diskFreeMib } };
  };

  it("admits a VM only where the host's free disk less the reserve holds its whole declared disk", () => {
    const hosts = [withDisk('small', 3000), withDisk('big', 8000)];
    expect(placeVm(hosts, { ...req, diskMib: 4096 }).host.name).toBe('big');
    // 3000 - 2048 reserve = 952 MiB: a 1 GiB disk does not fit there, but does on the other.
    expect(placeVm([hosts[0]!], { ...req, diskMib: 900 }).host.name).toBe('small');
  });

  it('refuses with NO_HOST_AVAILABLE naming the numbers when no host has the room', () => {
    const err = (() => {
      try {
        placeVm([withDisk('small', 3000)], { ...req, diskMib: 1024 }, undefined, { reserveMib: 2048 });
      } catch (e) {
        return e as HearthError;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(HearthError);
    expect(err!.code).toBe('NO_HOST_AVAILABLE');
    expect(err!.message).toMatch(
      /no host met: disk \(small needs 1024 MiB, 952 free \(3000 on disk less a 2048 reserve; 0 declared by its disks\)\)/,
    );
    expect(err!.detail).toMatchObject({
      constraints: ['disk'],
      hosts: [{ host: 'small', reasons: [{ constraint: 'disk', needMib: 1024, freeMib: 3000 }] }],
    });
  });
});

describe('the disk reserve from the environment (read once, at start)', () => {
  it('takes a whole number of MiB, and the default when unset or empty', () => {
    expect(diskPolicyFromEnv({ HEARTH_DISK_RESERVE_MIB: '512' })).toEqual({ reserveMib: 512 });
    expect(diskPolicyFromEnv({ HEARTH_DISK_RESERVE_MIB: '0' })).toEqual({ reserveMib: 0 });
    expect(diskPolicyFromEnv({})).toEqual({ reserveMib: 2048 });
    expect(diskPolicyFromEnv({ HEARTH_DISK_RESERVE_MIB: '' })).toEqual({ reserveMib: 2048 });
  });

  it('refuses anything else with a message naming the variable and the value', () => {
    for (const bad of ['2g', '-1', '1.5', 'abc', '99999999999999999999']) {
      expect(() => diskPolicyFromEnv({ HEARTH_DISK_RESERVE_MIB: bad })).toThrow(
        `HEARTH_DISK_RESERVE_MIB is "${bad}": it must be a whole number of MiB`,
      );
    }
  });
});
