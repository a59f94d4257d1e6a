import { z } from 'zod';
import { Name, PageQuery } from './common.ts';

export const Volume = z
  .object({
    id: z.string(),
    name: z.string(),
    project: z.string(),
    sizeMib: z.number().int(),
    format: z.enum(['raw', 'ext4']),
    host: z.string().describe('Volumes live on one host; they attach to VMs on that host'),
    attachedTo: z.string().nullable().describe('VM id, or null when detached'),
    serial: z.string().describe('The virtio serial the guest sees (/sys/block/vdX/serial)'),
    image: z.string().nullable().describe('The image it was made from, if any'),
    createdAt: z.string(),
  })
  .meta({ id: 'Volume' });
export type Volume = z.infer<typeof Volume>;

const Size = z.string().describe('Like `1gb` or `512mib`');

export const CreateVolumeBody = z
  .strictObject({
    name: Name,
    project: Name.default('default'),
    size: Size.optional().describe('Default 1gb; at least the image size when `image` is given'),
    format: z.enum(['raw', 'ext4']).default('ext4'),
    image: z.string().min(1).optional().describe('Start from a copy of this rootfs image (ext4)'),
    host: z.string().optional().describe('Default: the host with the most free disk'),
  })
  .meta({ id: 'CreateVolume' });
export const AttachVolumeBody = z
  .strictObject({
    vm: z
      .string()
      .min(1)
      .describe('VM id or name; it must be stopped (or never started) and on the same host'),
    readOnly: z.boolean().default(false),
  })
  .meta({ id: 'AttachVolume' });
export const ResizeVolumeBody = z.strictObject({ size: Size }).meta({ id: 'ResizeVolume' });
export const ListVolumesQuery = PageQuery.extend({ vm: z.string().optional() });
