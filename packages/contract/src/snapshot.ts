import { z } from 'zod';
import { Name, PageQuery } from './common.ts';

export const Snapshot = z
  .object({
    id: z.string(),
    name: z.string(),
    project: z.string(),
    vm: z.string().nullable().describe('The VM it was taken of (null once that VM is deleted)'),
    vmName: z.string(),
    host: z.string().describe('The host that holds its files; restores run there'),
    parent: z.string().nullable().describe('The snapshot the VM had been restored or cloned from'),
    children: z.array(z.string()).describe('Snapshots taken of VMs restored or cloned from this one'),
    state: z.enum(['creating', 'ready', 'failed']),
    sizeBytes: z.number().describe('Bytes on disk: memory state plus the sparse disk copy'),
    vmm: z.enum(['firecracker', 'qemu']),
    vmmVersion: z.string(),
    type: z.enum(['full', 'diff']),
    kernel: z.string(),
    image: z.string(),
    vcpus: z.number().int(),
    memoryMib: z.number().int(),
    diskMib: z.number().int(),
    createdAt: z.string(),
  })
  .meta({ id: 'Snapshot' });
export type Snapshot = z.infer<typeof Snapshot>;

export const CreateSnapshotBody = z
  .strictObject({ name: Name.optional().describe('Default: <vm>-<time>') })
  .meta({ id: 'CreateSnapshot' });
export const CloneSnapshotBody = z
  .strictObject({
    name: Name.optional(),
    project: Name.optional().describe("Default: the snapshot's project"),
    labels: z.record(z.string().max(63), z.string().max(255)).optional(),
  })
  .meta({ id: 'CloneSnapshot' });
export const RestoreVmBody = z
  .strictObject({ snapshot: z.string().min(1).describe('Snapshot id or name, taken of this VM') })
  .meta({ id: 'RestoreVm' });
export const ListSnapshotsQuery = PageQuery.extend({
  vm: z.string().optional().describe('Only snapshots of this VM (id)'),
});
