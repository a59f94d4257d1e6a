import { describe, expect, it } from 'vitest';
import type { VmArchiveManifest } from '@hearth/contract';
import { memoryPlan, networksFor } from './import-memory.ts';

const restore = {
  layout: 2,
  hasAgent: true,
  nics: [{ mac: '02:00:00:00:00:01', network: 'default' }],
  guestSecret: 's',
};
const manifest = (memory: Partial<NonNullable<VmArchiveManifest['memory']>> | null, version = 2) =>
  ({
    version,
    memory: memory && {
      file: 'memory.hsparse',
      encoding: 'hearth-sparse-1',
      sizeBytes: 1,
      vmm: 'qemu',
      vmmVersion: '7.2.0',
      ...memory,
    },
  }) as VmArchiveManifest;

describe('memoryPlan: whether an import resumes the archive memory', () => {
  it('resumes a version 2 QEMU memory of a VM started now', () => {
    expect(memoryPlan(manifest({ restore }), true)).toEqual({ restore, reason: null });
  });

  it('boots cold, saying why, otherwise', () => {
    expect(memoryPlan(manifest(null), true)).toEqual({ restore: null, reason: null });
    expect(memoryPlan(manifest({}, 1), true).reason).toMatch(/version 1, which does not record/);
    expect(memoryPlan(manifest({ restore, vmm: 'firecracker' }), true).reason).toMatch(/firecracker/);
    expect(memoryPlan(manifest({ restore }), false).reason).toMatch(/without starting/);
  });

  it('asks for networks by name only when the guest had more than one NIC', () => {
    expect(networksFor(restore)).toBeUndefined();
    const two = { ...restore, nics: [...restore.nics, { mac: '02:00:00:00:00:02', network: 'back' }] };
    expect(networksFor(two)).toEqual(['default', 'back']);
  });
});
