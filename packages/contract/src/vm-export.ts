import { z } from 'zod';
import { IdParam, Name } from './common.ts';
import type { ErrorCode } from './errors.ts';
import { BandwidthMbit, EgressPolicy } from './network.ts';
import type { RouteDef } from './routes.ts';
import { PortMapping, Vm, VmmKind } from './vm.ts';

const def = <const T extends RouteDef>(r: T): T => r;
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');

/** The one archive format `hearth vm export` writes and `hearth vm import` reads. */
export const VM_ARCHIVE_FORMAT = 'hearth-vm-export';
/**
 * What a manager writes: 2 when the archive carries what a memory restore needs
 * (`memory.restore`), else 1 (the rest of the format is unchanged, so older managers read it).
 */
export const VM_ARCHIVE_VERSION = 2;
/** Every version this manager reads: 1 has no `memory.restore` (its memory boots cold). */
export const VM_ARCHIVE_VERSIONS_READ: readonly number[] = [1, 2];
/** The first member of every archive; everything else is listed in it with its sha256. */
export const VM_ARCHIVE_MANIFEST = 'manifest.json';

/**
 * How the disk is stored in the archive (docs/backups.md § VM export): a sequence of extents,
 * each a 16-byte header (offset, length: unsigned 64-bit big-endian) and `length` bytes written
 * at `offset`; everything between extents is zeros. A disk that is mostly holes stays small.
 */
export const SPARSE_ENCODING = 'hearth-sparse-1';

export const VmArchiveFile = z.strictObject({
  path: z.string().min(1),
  sha256: Sha256.describe('Of the bytes stored in the archive'),
  sizeBytes: z.number().int().nonnegative(),
});
export type VmArchiveFile = z.infer<typeof VmArchiveFile>;

/**
 * What loading the saved memory needs beyond the disk (version 2): the device set it was saved
 * with (layout, configuration disk, NICs in order with their MACs; vCPUs and memory are `vm`'s),
 * and the guest agent's channel secret, which the guest in that memory holds and checks. The
 * secret travels only with the memory, which contains it anyway.
 */
export const VmArchiveRestore = z.strictObject({
  layout: z.number().int().positive().describe("The agent's VM device layout the memory was saved with"),
  hasAgent: z.boolean().describe('The saved guest runs the guest agent (it has a configuration disk)'),
  nics: z
    .array(z.strictObject({ mac: z.string(), network: z.string() }))
    .describe('The NICs the saved guest has, in device order'),
  guestSecret: z.string().nullable(),
});
export type VmArchiveRestore = z.infer<typeof VmArchiveRestore>;

/**
 * `manifest.json`: what the VM was (resources, boot images by name and sha256, labels, ports,
 * env, the guest accounts without passwords) and every other member with its sha256. Secrets do
 * not travel: no password hash, no guest channel secret, no cloud-init user data.
 */
export const VmArchiveManifest = z.object({
  format: z.literal(VM_ARCHIVE_FORMAT),
  version: z.number().int(),
  createdAt: z.string(),
  source: z.strictObject({ id: z.string(), name: z.string(), project: z.string(), state: z.string() }),
  vm: z.strictObject({
    name: Name,
    vcpus: z.number().int().positive(),
    memoryMib: z.number().int().positive(),
    diskMib: z.number().int().positive(),
    vmm: VmmKind,
    labels: z.record(z.string(), z.string()),
    env: z.record(z.string(), z.string()),
    ports: z.array(PortMapping),
    egress: EgressPolicy.nullable(),
    bandwidthMbit: BandwidthMbit.nullable(),
    timeout: z.string().nullable(),
    users: z.array(z.strictObject({ name: z.string(), sshKeys: z.array(z.string()) })),
  }),
  image: z.strictObject({
    name: z.string(),
    sha256: Sha256,
    sizeBytes: z.number().int().nonnegative(),
    format: z.string(),
    /** The image file when exported `--with-image`; null: the importing manager must have it. */
    file: z.string().nullable(),
  }),
  kernel: z.strictObject({ name: z.string(), sha256: Sha256 }),
  disk: z.strictObject({
    file: z.string(),
    encoding: z.literal(SPARSE_ENCODING),
    /** The disk's size as the guest sees it. */
    sizeBytes: z.number().int().positive(),
    /** The disk carries the guest agent (injected when it was made). */
    hasAgent: z.boolean(),
  }),
  /**
   * A memory snapshot (`--memory`): restorable only on a host with the same VMM version, and only
   * with `restore` (version 2); without it the imported VM boots cold from its disk.
   */
  memory: z
    .strictObject({
      file: z.string(),
      encoding: z.literal(SPARSE_ENCODING),
      sizeBytes: z.number().int().nonnegative(),
      vmm: VmmKind,
      vmmVersion: z.string(),
      restore: VmArchiveRestore.optional(),
    })
    .nullable(),
  files: z.array(VmArchiveFile),
});
export type VmArchiveManifest = z.infer<typeof VmArchiveManifest>;

export const ExportVmBody = z.strictObject({
  snapshot: z
    .boolean()
    .default(false)
    .describe('Export a running or paused VM through a snapshot taken for it (deleted afterwards)'),
  memory: z
    .boolean()
    .default(false)
    .describe(
      'Include the memory snapshot (implies `snapshot`): import resumes the VM from it, on the same QEMU version',
    ),
  withImage: z.boolean().default(false).describe('Include the rootfs image file the disk was made from'),
});
export type ExportVmBody = z.infer<typeof ExportVmBody>;

export const ImportVmQuery = z.strictObject({
  name: Name.optional().describe("The new VM's name (default: the exported VM's)"),
  project: Name.optional(),
  host: z.string().min(1).optional().describe('Place the disk on this host (id or name)'),
  start: z.enum(['true', 'false']).default('true').describe('Start the VM once imported'),
});
export type ImportVmQuery = z.infer<typeof ImportVmQuery>;

const ARCHIVE_ERR: ErrorCode[] = [
  'VM_ARCHIVE_INVALID',
  'VM_ARCHIVE_VERSION_UNSUPPORTED',
  'VM_ARCHIVE_CHECKSUM_MISMATCH',
  'VM_ARCHIVE_IMAGE_MISSING',
];

/** VM export and import between installations (docs/backups.md § VM export). */
export const vmExportRoutes = {
  exportVm: def({
    method: 'POST',
    path: '/v1/vms/:id/export',
    summary:
      'Stream a VM as a tar archive (application/x-tar): manifest.json (config, image and kernel by name and sha256, every member with its sha256), the disk (sparse-encoded), optionally the image file and the memory snapshot. The VM must be stopped, or give `snapshot` to export a running one through a snapshot.',
    tag: 'vms',
    auth: 'user',
    params: IdParam,
    body: ExportVmBody,
    response: null,
    raw: { produces: ['application/x-tar'] },
    status: 200,
    errors: ['VM_NOT_FOUND', 'VM_INVALID_STATE', 'HOST_UNAVAILABLE', 'AGENT_UNREACHABLE'],
  }),
  importVm: def({
    method: 'POST',
    path: '/v1/vms/import',
    summary:
      'Create a VM from an archive of `exportVm` (raw body, application/x-tar), streamed: the disk goes to the placed host as it arrives and is checked against the manifest sha256; a mismatch removes everything made. The image is found by sha256, or imported from the archive when it carries it.',
    tag: 'vms',
    auth: 'user',
    query: ImportVmQuery,
    response: Vm,
    raw: { consumes: ['application/x-tar'] },
    status: 201,
    errors: [
      ...ARCHIVE_ERR,
      'VALIDATION_FAILED',
      'VM_NAME_TAKEN',
      'NO_HOST_AVAILABLE',
      'HOST_NOT_FOUND',
      'PORT_TAKEN',
      'MEMORY_EXCEEDS_HOST',
      'VCPUS_EXCEED_HOST',
    ],
  }),
} as const;
