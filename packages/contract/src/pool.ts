import { z } from 'zod';
import { Name, PageQuery, Timestamp } from './common.ts';
import { TemplateSpec } from './template.ts';

const t = TemplateSpec.shape;

/**
 * What every VM of a pool is booted with. Per-VM details (name, env, credentials) are not part of
 * it: they are given to a VM when it is handed out, through its guest agent.
 */
export const PoolSpec = z
  .strictObject({
    template: z
      .string()
      .min(1)
      .optional()
      .describe('A template (id or name) whose spec is the base; the fields below override it.'),
    vcpus: t.vcpus.optional(),
    memoryMib: t.memoryMib.optional(),
    diskSize: t.diskSize,
    image: t.image.describe('Rootfs image id or name, or `runtime-<name>`; default the base image.'),
    kernel: t.kernel,
    vmm: t.vmm,
    network: z.string().min(1).optional().describe('The network of the single NIC; default the NAT network.'),
    networks: t.networks,
    egress: t.egress,
    bandwidthMbit: t.bandwidthMbit,
  })
  .meta({ id: 'PoolSpec' });
export type PoolSpec = z.infer<typeof PoolSpec>;

export const PoolMode = z
  .enum(['booted', 'snapshot'])
  .describe(
    '`booted`: the pool boots each of its VMs from the spec. `snapshot`: it boots one VM, snapshots it, and restores the others from that snapshot (a refill is a restore, not a boot). Either way its VMs wait running and are handed out in milliseconds.',
  );

export const Pool = z
  .object({
    id: z.string(),
    name: z.string(),
    project: z.string(),
    spec: PoolSpec,
    mode: PoolMode,
    size: z.number().int().describe('Target number of ready VMs'),
    ready: z.number().int().describe('VMs booted and waiting to be handed out'),
    warming: z.number().int().describe('VMs booting to refill the pool'),
    hits: z.number().int().describe('Creates served from the pool'),
    misses: z.number().int().describe('Creates that found the pool empty and booted normally'),
    hitRate: z.number().nullable().describe('hits / (hits + misses); null before the first create'),
    lastError: z.string().nullable().describe('Why the last refill failed, until one succeeds'),
    snapshot: z
      .string()
      .nullable()
      .describe('`snapshot` mode: the snapshot its VMs are restored from; null until taken'),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'Pool' });
export type Pool = z.infer<typeof Pool>;

export const MAX_POOL_SIZE = 64;

export const CreatePoolBody = z
  .strictObject({
    name: Name,
    project: Name.default('default'),
    spec: PoolSpec.default({}),
    mode: PoolMode.default('booted'),
    size: z.number().int().min(0).max(MAX_POOL_SIZE).default(1),
  })
  .meta({ id: 'CreatePool' });
export type CreatePoolBody = z.input<typeof CreatePoolBody>;

export const PatchPoolBody = z
  .strictObject({
    size: z.number().int().min(0).max(MAX_POOL_SIZE).optional(),
    spec: PoolSpec.optional().describe(
      'Replaces the spec; VMs already pooled are replaced in the background.',
    ),
  })
  .meta({ id: 'PatchPool' });
export type PatchPoolBody = z.infer<typeof PatchPoolBody>;

export const ListPoolsQuery = PageQuery.extend({ project: z.string().optional() });
