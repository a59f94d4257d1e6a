import { z } from 'zod';
import { Name, PageQuery } from './common.ts';
import { HearthError } from './errors.ts';

/** `memory`: memory, device state and disks, resumed where it was; `disk`: disks only, booted cold. */
export const SnapshotKind = z
  .enum(['memory', 'disk'])
  .describe(
    '`memory`: memory, devices and disks (resumes running); `disk`: root disk and volumes only (boots cold)',
  );
export type SnapshotKind = z.infer<typeof SnapshotKind>;

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
    sizeBytes: z
      .number()
      .describe('Bytes on disk: memory state (none for `disk`) plus the sparse disk copies'),
    vmm: z.enum(['firecracker', 'qemu']),
    vmmVersion: z.string(),
    type: z.enum(['full', 'diff']),
    base: z
      .string()
      .nullable()
      .optional()
      .describe(
        'A diff: the snapshot whose memory it builds on (restoring the diff needs it; it cannot be deleted while the diff exists); null for a full snapshot',
      ),
    kind: SnapshotKind,
    kernel: z.string(),
    image: z.string(),
    vcpus: z.number().int(),
    memoryMib: z.number().int(),
    diskMib: z.number().int(),
    createdAt: z.string(),
    sha256: z
      .string()
      .nullable()
      .optional()
      .describe(
        "Digest of its files' sha256 list (sha256sum format, by name), computed by its host when it became ready; null for snapshots from before that",
      ),
    problem: z
      .string()
      .nullable()
      .optional()
      .describe(
        'Set when its host was checked after a backup restore and its files are missing or differ from their checksums; null: fine or not checked',
      ),
  })
  .meta({ id: 'Snapshot' });
export type Snapshot = z.infer<typeof Snapshot>;

export const CreateSnapshotBody = z
  .strictObject({
    name: Name.optional().describe('Default: <vm>-<time>'),
    type: z
      .enum(['full', 'diff'])
      .default('full')
      .describe(
        "`diff` (Firecracker): only the memory changed since the VM's last snapshot (taken or restored), which becomes its `base`. Refused with SNAPSHOT_TYPE_UNSUPPORTED on QEMU, for disk-only snapshots, and when the VM has no snapshot of its own to build on (docs/storage.md)",
      ),
    kind: SnapshotKind.default('memory').describe(
      '`disk`: the root disk and volumes only, of a running, paused or stopped VM; restoring it boots the VM cold. Refused with SNAPSHOT_KIND_UNSUPPORTED on Firecracker',
    ),
  })
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

/** Why a diff snapshot cannot be taken: the VMM keeps no dirty-page record, or a disk-only one has no memory. */
const DIFF_REFUSAL = {
  qemu: 'QEMU saves the whole guest memory in its migration stream; it keeps no record of the pages changed since the last snapshot that a restore could lay onto a base, so its snapshots are full',
  disk: 'a diff holds the guest memory changed since the last snapshot, and a disk-only snapshot holds no memory',
} as const;

/** The refusal of a `diff` snapshot, with the reason (SNAPSHOT_TYPE_UNSUPPORTED, 422). */
export function diffSnapshotRefused(
  why: keyof typeof DIFF_REFUSAL,
  vmName?: string,
  vmm: 'qemu' | 'firecracker' = 'qemu',
): HearthError {
  const reason = DIFF_REFUSAL[why];
  const what =
    why === 'disk'
      ? 'a disk-only snapshot cannot be a diff'
      : `${vmm} cannot take a diff snapshot Hearth can restore`;
  return diffRefusal(
    `Snapshotting ${vmName ? `VM "${vmName}"` : 'the VM'} failed: ${what} (${reason}).`,
    vmm,
    reason,
  );
}

/** Any refused diff snapshot (SNAPSHOT_TYPE_UNSUPPORTED, 422): the VMM and the reason in `detail`. */
export function diffRefusal(message: string, vmm: 'qemu' | 'firecracker', reason: string): HearthError {
  return new HearthError('SNAPSHOT_TYPE_UNSUPPORTED', message, { detail: { vmm, type: 'diff', reason } });
}

/**
 * Deleting a snapshot diff snapshots build on (SNAPSHOT_IN_USE, 409), refused by the manager from
 * its records and by the host from its files: `dependents` by id, `labels` as the message names them.
 */
export function snapshotInUse(
  snapshot: string,
  dependents: string[],
  labels: string[] = dependents,
): HearthError {
  const many = dependents.length > 1;
  return new HearthError(
    'SNAPSHOT_IN_USE',
    `Deleting snapshot ${snapshot} failed: the diff snapshot${many ? 's' : ''} ${labels.join(', ')} hold${many ? '' : 's'} only the memory changed since it and cannot be restored without it.`,
    { detail: { dependents } },
  );
}

/** The refusal of a disk-only snapshot on Firecracker (SNAPSHOT_KIND_UNSUPPORTED, 422). */
export function diskSnapshotRefused(vmm: 'firecracker', vmName: string): HearthError {
  const reason =
    "a disk-only snapshot copies the disk files while the VM is paused, which relies on the pause draining and flushing the block devices as QEMU's stop does; that Firecracker's pause does the same has not been established, so its disk copies could hold no single instant";
  return new HearthError(
    'SNAPSHOT_KIND_UNSUPPORTED',
    `Snapshotting VM "${vmName}" failed: ${vmm} cannot take a disk-only snapshot (${reason}).`,
    { detail: { vmm, kind: 'disk', reason } },
  );
}
