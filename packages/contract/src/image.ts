import { z } from 'zod';
import { Timestamp } from './common.ts';

export const ImageKind = z.enum(['kernel', 'rootfs', 'initrd']);

/** `pending`: declared by POST /v1/images, content not uploaded yet; `ready`: usable. */
export const ImageStatus = z.enum(['pending', 'ready']);

export const Image = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: ImageKind,
    status: ImageStatus,
    format: z.string().describe('`ext4`, `elf`, `bzImage`, `cpio.gz`, …'),
    arch: z.string(),
    sizeBytes: z.number().int(),
    sha256: z.string(),
    source: z.string().describe('Where it came from (recipe, upload, URL, host path, registry reference)'),
    path: z.string().describe('Location in the image store on the manager host'),
    builtin: z.boolean(),
    usedBy: z.array(z.string()).describe('Ids of the VMs whose rootfs, kernel or initrd this is'),
    meta: z
      .record(z.string(), z.unknown())
      .describe(
        'Free-form facts: `oci` (ref, digest, entrypoint, cmd, env, workdir, user, exposedPorts) for registry imports, `init` (`inittab`, `systemd` or `hearth-guest` when the guest agent boots as PID 1), `runtime`, `bootMarker`.',
      ),
    createdAt: Timestamp,
  })
  .meta({ id: 'Image' });
export type Image = z.infer<typeof Image>;

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');
const ImageName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/, 'must be lowercase letters, digits, dots, dashes, underscores');

/** Declares an image whose content follows with PUT /v1/images/{id}/content. */
export const CreateImageBody = z
  .strictObject({
    name: ImageName,
    kind: ImageKind.default('rootfs'),
    format: z.string().min(1).max(32).default('ext4'),
    arch: z.string().default('x86_64'),
    sha256: Sha256.describe('The upload is refused unless its content hashes to this'),
    sizeBytes: z.number().int().min(1).optional().describe('When given, the upload must have this size'),
  })
  .meta({ id: 'CreateImageBody' });
export type CreateImageBody = z.infer<typeof CreateImageBody>;

export const ImportSource = z.enum(['oci', 'url', 'path']);

export const ImportImageBody = z
  .strictObject({
    ref: z
      .string()
      .min(1)
      .max(2048)
      .describe(
        'An OCI reference (`node:22-alpine`, `localhost:5000/app:tag`, `registry:5000/x@sha256:…`), an http(s) URL of an ext4/kernel file or of a whole disk (raw or qcow2 with a partition table: its root partition is stored, and the kernel and initramfs in its /boot, when it carries them, become the images NAME-kernel and NAME-initrd), or an absolute host path (when the operator allows it)',
      ),
    source: ImportSource.optional().describe(
      'Default: guessed from `ref` (http(s):// → url, / → path, else oci)',
    ),
    name: ImageName.optional().describe('Default: derived from the reference'),
    kind: ImageKind.default('rootfs').describe('For url and path imports'),
    format: z
      .string()
      .min(1)
      .max(32)
      .optional()
      .describe(
        'For url and path imports; default ext4 for rootfs (`raw`, `qcow2`: a whole disk, stored as ext4)',
      ),
    sha256: Sha256.optional().describe('For url and path imports: refuse content that does not hash to this'),
    stream: z
      .boolean()
      .default(false)
      .describe(
        'true: NDJSON ImportEvent lines (application/x-ndjson) while it runs, the last being done or error',
      ),
  })
  .meta({ id: 'ImportImageBody' });
export type ImportImageBody = z.infer<typeof ImportImageBody>;

export const ImportEvent = z
  .discriminatedUnion('type', [
    z.object({
      type: z.literal('progress'),
      phase: z.enum(['resolve', 'pull', 'unpack', 'build', 'download', 'verify', 'store']),
      message: z.string(),
      bytes: z.number().int().optional(),
      totalBytes: z.number().int().optional(),
    }),
    z.object({ type: z.literal('done'), image: Image, cached: z.boolean() }),
    z.object({
      type: z.literal('error'),
      error: z.object({ code: z.string(), message: z.string(), hint: z.string() }),
    }),
  ])
  .meta({ id: 'ImportEvent' });
export type ImportEvent = z.infer<typeof ImportEvent>;
