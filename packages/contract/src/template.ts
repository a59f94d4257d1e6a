import { z } from 'zod';
import { Name, PageQuery } from './common.ts';
import { CreateVmBody } from './vm.ts';

const vm = CreateVmBody.shape;

/** What a template fixes for every VM made from it. Passwords are never stored: see `instantiate`. */
export const TemplateSpec = z
  .strictObject({
    vcpus: vm.vcpus,
    memoryMib: vm.memoryMib,
    diskSize: vm.diskSize,
    image: vm.image,
    kernel: vm.kernel,
    vmm: vm.vmm,
    env: vm.env,
    labels: vm.labels,
    timeout: vm.timeout,
    network: z
      .string()
      .min(1)
      .default('default')
      .describe('The network of a single NIC (ignored when `networks` is set)'),
    networks: z
      .array(z.string().min(1))
      .min(1)
      .max(4)
      .optional()
      .describe('One NIC per network (id or name), in order; each instance gets its own addresses'),
    egress: vm.egress,
    bandwidthMbit: vm.bandwidthMbit,
    user: vm.user,
    sshKeys: vm.sshKeys,
    volumes: z
      .array(z.strictObject({ size: z.string(), format: z.enum(['raw', 'ext4']).default('ext4') }))
      .max(8)
      .default([])
      .describe('Fresh volumes made and attached for each instance'),
  })
  .meta({ id: 'TemplateSpec' });
export type TemplateSpec = z.infer<typeof TemplateSpec>;

export const Template = z
  .object({
    id: z.string(),
    name: z.string(),
    project: z.string(),
    description: z.string(),
    spec: TemplateSpec,
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Template' });
export type Template = z.infer<typeof Template>;

export const CreateTemplateBody = z
  .strictObject({
    name: Name,
    project: Name.default('default'),
    description: z.string().max(1000).default(''),
    spec: TemplateSpec,
  })
  .meta({ id: 'CreateTemplate' });
export const PatchTemplateBody = z
  .strictObject({ description: z.string().max(1000).optional(), spec: TemplateSpec.optional() })
  .meta({ id: 'PatchTemplate' });
export const SaveTemplateBody = z
  .strictObject({ name: Name, description: z.string().max(1000).default('') })
  .meta({ id: 'SaveTemplate' });
export const InstantiateBody = z
  .strictObject({
    count: z.number().int().min(1).max(50).default(1),
    namePrefix: Name.optional().describe(
      'Instances are named <prefix>-1, <prefix>-2, …; default the template name',
    ),
    project: Name.optional(),
    password: vm.password.describe(
      "Password for the template's user in every instance (not stored in the template)",
    ),
  })
  .meta({ id: 'Instantiate' });
export const ListTemplatesQuery = PageQuery;
