import { describe, expect, it } from 'vitest';
import { HearthError, type HostInventory } from '@hearth/contract';
import type { HostRow } from '../store/mappers.ts';
import { placeVm, type PlaceRequest } from './scheduler.ts';
import { DEFAULT_PLACEMENT_POLICY } from './placement-policy.ts';

// The placement constraints one by one, on host rows as the host store reads them (what active
// VMs hold in `alloc_*`); each test places a VM where the constraint leaves one choice, and would
// pick another host, or none, were the constraint not applied.

const memory = { reserveMib: 512, overheadMib: 64 };
const disk = { reserveMib: 2048 };

function host(name: string, o: Partial<HostRow> = {}, inv: Partial<HostInventory> = {}): HostRow {
  return {
    id: `host_${name}`,
    name,
    url: 'http://127.0.0.1:9',
    callback_token: 'x',
    state: 'ready',
    cordoned: false,
    inventory: {
      cpus: 4,
      memoryMib: 8192,
      memoryFreeMib: 7000,
      diskFreeMib: 100_000,
      kernel: 'test',
      arch: 'x64',
      vmms: [{ kind: 'qemu', available: true, accel: 'tcg', version: '7.2', reason: null }],
      checks: [],
      interfaces: [],
      underlay: null,
      cpuPercent: null,
      ...inv,
    },
    last_heartbeat_at: new Date(),
    created_at: new Date(),
    tls_pins: null,
    tls_issued: false,
    dead_at: null,
    drain: null,
    labels: {},
    cpu_overcommit: null,
    memory_overcommit: null,
    alloc_vcpus: 0,
    alloc_mem: 0,
    alloc_count: 0,
    alloc_disk: 0,
    ...o,
  };
}

const req: PlaceRequest = { vcpus: 1, memoryMib: 256 };
const place = (hosts: HostRow[], r: Partial<PlaceRequest> = {}, policy = DEFAULT_PLACEMENT_POLICY) =>
  placeVm(hosts, { ...req, ...r }, memory, disk, policy).host.name;
const refusal = (f: () => unknown): HearthError => {
  try {
    f();
  } catch (e) {
    if (e instanceof HearthError) return e;
    throw e;
  }
  throw new Error('placement was admitted');
};

describe('strategies', () => {
  // `light` holds one small VM, `heavy` several: both have room for one more.
  const hosts = [
    host('heavy', { alloc_vcpus: 6, alloc_mem: 4096, alloc_count: 6 }),
    host('light', { alloc_vcpus: 1, alloc_mem: 256, alloc_count: 1 }),
  ];

  it('spread (the default) picks the least loaded host', () => {
    expect(place(hosts)).toBe('light');
    expect(place([...hosts].reverse())).toBe('light');
  });

  it('pack picks the fullest host that still fits, manager-wide or for one VM', () => {
    expect(place(hosts, {}, { ...DEFAULT_PLACEMENT_POLICY, strategy: 'pack' })).toBe('heavy');
    expect(place(hosts, { placementStrategy: 'pack' })).toBe('heavy');
    // The fullest one that does not fit is passed over.
    const full = host('full', { alloc_mem: 7500, alloc_count: 1 });
    expect(place([...hosts, full], { placementStrategy: 'pack' })).toBe('heavy');
    // And a VM may ask to be spread where the manager packs.
    expect(
      place(hosts, { placementStrategy: 'spread' }, { ...DEFAULT_PLACEMENT_POLICY, strategy: 'pack' }),
    ).toBe('light');
  });
});

describe('host selector', () => {
  const hosts = [
    host('a', { labels: { zone: 'us', disk: 'ssd' } }),
    host('b', { labels: { zone: 'eu', disk: 'hdd' } }),
    host('c', { labels: { zone: 'eu', disk: 'ssd' } }),
  ];

  it('places only on hosts carrying every selected label with its value', () => {
    expect(place(hosts, { hostSelector: { zone: 'eu', disk: 'ssd' } })).toBe('c');
    expect(place(hosts, { hostSelector: { disk: 'ssd', zone: 'us' } })).toBe('a');
  });

  it('refuses with NO_HOST_MATCHES (409) saying what each host has instead', () => {
    const e = refusal(() => place(hosts, { hostSelector: { zone: 'ap' } }));
    expect(e.code).toBe('NO_HOST_MATCHES');
    expect(e.status).toBe(409);
    expect(e.message).toBe(
      'Placing the VM failed: no host met: host selector zone=ap (a has zone=us; b has zone=eu; c has zone=eu).',
    );
    const none = refusal(() => place(hosts, { hostSelector: { gpu: 'yes' } }));
    expect(none.message).toMatch(/a has no gpu/);
    expect(none.detail).toMatchObject({
      constraints: ['hostSelector'],
      hosts: [
        { host: 'a', reasons: [{ constraint: 'hostSelector', labels: { zone: 'us', disk: 'ssd' } }] },
        {},
        {},
      ],
    });
  });
});

describe('anti-affinity groups', () => {
  const hosts = [host('a'), host('b'), host('c', { alloc_mem: 2048, alloc_count: 2, alloc_vcpus: 2 })];

  it('keeps a VM off every host holding a member of its group', () => {
    const members = new Map([['host_a', ['web-1']]]);
    // Without the group, `a` (least loaded, then first) would be chosen.
    expect(place(hosts)).toBe('a');
    expect(place(hosts, { antiAffinity: { group: 'web', members } })).toBe('b');
    members.set('host_b', ['web-2']);
    expect(place(hosts, { antiAffinity: { group: 'web', members } })).toBe('c');
  });

  it('refuses naming the group and the members on each host', () => {
    const members = new Map([
      ['host_a', ['web-1']],
      ['host_b', ['web-2', 'web-3']],
    ]);
    const e = refusal(() => place(hosts.slice(0, 2), { antiAffinity: { group: 'web', members } }));
    expect(e.code).toBe('NO_HOST_MATCHES');
    expect(e.message).toBe(
      'Placing the VM failed: no host met: anti-affinity group web (a holds web-1; b holds web-2, web-3).',
    );
  });
});

describe('overcommit', () => {
  it("counts vCPUs promised against the host's CPUs times its ratio", () => {
    // 4 CPUs ×16 (the default) = 64; 63 promised leaves room for 1, not for 2.
    const busy = host('busy', { alloc_vcpus: 63 });
    expect(place([busy])).toBe('busy');
    const e = refusal(() => place([busy], { vcpus: 2 }));
    expect(e.code).toBe('NO_HOST_AVAILABLE');
    expect(e.message).toBe(
      'Placing the VM failed: no host met: cpu (busy needs 2 vCPUs, 1 free of 4 ×16.0).',
    );
    // The host's own ratio wins over the manager's.
    expect(place([{ ...busy, cpu_overcommit: 20 }], { vcpus: 2 })).toBe('busy');
    expect(() => place([host('strict', { alloc_vcpus: 4, cpu_overcommit: 1 })])).toThrow(
      /1 vCPUs? ?.*0 free of 4 ×1\.0/,
    );
  });

  it("counts memory promised (guest + VMM overhead per VM) against the host's memory less the reserve times its ratio", () => {
    // (8192 - 512) ×1 = 7680 promised at most; 7000 + 10×64 promised leaves 40 MiB.
    const full = host('full', { alloc_mem: 7000, alloc_count: 10 }, { memoryFreeMib: 8000 });
    const e = refusal(() => place([full]));
    expect(e.message).toBe(
      'Placing the VM failed: no host met: memory (full needs 320 MiB (256 guest + 64 VMM), 40 free ×1.0 (7640 of 7680 promised)).',
    );
    // ×1.5: 11520 promised at most; the live check scales alike, (8000 - 512) ×1.5 = 11232.
    expect(place([{ ...full, memory_overcommit: 1.5 }])).toBe('full');
    expect(place([full], {}, { ...DEFAULT_PLACEMENT_POLICY, memoryOvercommit: 1.5 })).toBe('full');
  });

  it('still refuses a VM larger than any host, whatever the ratio (422)', () => {
    const e = refusal(() => place([host('a', { memory_overcommit: 4 })], { memoryMib: 9000 }));
    expect(e.code).toBe('MEMORY_EXCEEDS_HOST');
  });
});

describe('disk', () => {
  it('admits a disk against the free space less the reserve, whatever other disks declared', () => {
    // Sparse disks: the free space counts what they wrote; what they declared is not taken off.
    const declared = host('declared', { alloc_disk: 16_000 }, { diskFreeMib: 20_000 });
    const small = host('small', {}, { diskFreeMib: 3000 });
    expect(place([declared, small], { diskMib: 2048 })).toBe('declared');
    const e = refusal(() => place([small], { diskMib: 2048 }));
    expect(e.message).toBe(
      'Placing the VM failed: no host met: disk (small needs 2048 MiB, 952 free (3000 on disk less a 2048 reserve; 0 declared by its disks)).',
    );
  });
});

describe('refusals over several constraints', () => {
  it('lists each constraint with the hosts it left out, in one message and per host in detail', () => {
    // host-a: 7680 - 7300 - 64 = 316 MiB left; host-b holds a member of the group.
    const hosts = [host('host-a', { alloc_mem: 7300, alloc_count: 1 }), host('host-b')];
    const members = new Map([['host_host-b', ['web-1']]]);
    const e = refusal(() => place(hosts, { memoryMib: 448, antiAffinity: { group: 'web', members } }));
    // host-a meets the group and lacks only room, which frees up: 503, not 409.
    expect(e.code).toBe('NO_HOST_AVAILABLE');
    expect(e.message).toBe(
      'Placing the VM failed: no host met: anti-affinity group web (host-b holds web-1), memory (host-a needs 512 MiB (448 guest + 64 VMM), 316 free ×1.0 (7364 of 7680 promised)).',
    );
    expect(e.detail).toMatchObject({
      constraints: ['antiAffinity', 'memory'],
      hosts: [
        { host: 'host-a', reasons: [{ constraint: 'memory', needMib: 512, promisedMib: 7364 }] },
        { host: 'host-b', reasons: [{ constraint: 'antiAffinity', vms: ['web-1'] }] },
      ],
    });
    // Every host out for the VM's own constraints: 409, whose hint says what to change.
    const own = refusal(() =>
      place(hosts, { memoryMib: 448, hostSelector: { zone: 'eu' }, antiAffinity: { group: 'web', members } }),
    );
    expect(own.code).toBe('NO_HOST_MATCHES');
    expect(own.message).toBe(
      'Placing the VM failed: no host met: host selector zone=eu (host-a has no zone; host-b has no zone), anti-affinity group web (host-b holds web-1).',
    );
    expect(own.hint).toMatch(/detail\.hosts says why each host was left out/);
  });
});
