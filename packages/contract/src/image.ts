import { z } from 'zod';
import { Timestamp } from './common.ts';

export const ImageKind = z.enum(['kernel', 'rootfs', 'initrd']);

export const Image = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: ImageKind,
    format: z.string().describe('`ext4`, `bzImage`, `cpio.gz`, …'),
    arch: z.string(),
    sizeBytes: z.number().int(),
    sha256: z.string(),
    source: z.string().describe('Where it came from (recipe, upload, registry reference)'),
    path: z.string().describe('Location in the image store on the manager host'),
    builtin: z.boolean(),
    meta: z.record(z.string(), z.unknown()),
    createdAt: Timestamp,
  })
  .meta({ id: 'Image' });
export type Image = z.infer<typeof Image>;
