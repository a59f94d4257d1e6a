import { z } from 'zod';
import type { RouteDef } from './routes.ts';
import { IdParam, pageOf } from './common.ts';
import {
  CreateTemplateBody,
  InstantiateBody,
  ListTemplatesQuery,
  PatchTemplateBody,
  SaveTemplateBody,
  Template,
} from './template.ts';
import { Vm } from './vm.ts';

const def = <const T extends RouteDef>(r: T): T => r;
const base = { tag: 'templates', auth: 'user' } as const;

/** Templates: saved VM configurations, instantiated into new VMs. */
export const templateRoutes = {
  createTemplate: def({
    ...base,
    method: 'POST',
    path: '/v1/templates',
    summary: 'Write a template from scratch.',
    body: CreateTemplateBody,
    response: Template,
    status: 201,
    errors: ['VALIDATION_FAILED', 'TEMPLATE_NAME_TAKEN'],
  }),
  listTemplates: def({
    ...base,
    method: 'GET',
    path: '/v1/templates',
    summary: 'List templates.',
    query: ListTemplatesQuery,
    response: pageOf(Template),
    status: 200,
    errors: [],
  }),
  getTemplate: def({
    ...base,
    method: 'GET',
    path: '/v1/templates/:id',
    summary: 'One template (id or name).',
    params: IdParam,
    response: Template,
    status: 200,
    errors: ['TEMPLATE_NOT_FOUND'],
  }),
  patchTemplate: def({
    ...base,
    method: 'PATCH',
    path: '/v1/templates/:id',
    summary: 'Change a template; VMs made from it earlier are not affected.',
    params: IdParam,
    body: PatchTemplateBody,
    response: Template,
    status: 200,
    errors: ['TEMPLATE_NOT_FOUND', 'VALIDATION_FAILED'],
  }),
  deleteTemplate: def({
    ...base,
    method: 'DELETE',
    path: '/v1/templates/:id',
    summary: 'Delete a template.',
    params: IdParam,
    response: Template,
    status: 200,
    errors: ['TEMPLATE_NOT_FOUND'],
  }),
  instantiateTemplate: def({
    ...base,
    method: 'POST',
    path: '/v1/templates/:id/instantiate',
    summary:
      'Create `count` VMs from a template (each with fresh volumes when the template asks for them) and start them. All or nothing: a failure removes what this call made.',
    params: IdParam,
    body: InstantiateBody,
    response: z.object({ items: z.array(Vm) }),
    status: 201,
    errors: [
      'TEMPLATE_NOT_FOUND',
      'VM_NAME_TAKEN',
      'VCPUS_EXCEED_HOST',
      'MEMORY_EXCEEDS_HOST',
      'NO_HOST_AVAILABLE',
      'NETWORK_EXHAUSTED',
    ],
  }),
  saveVmAsTemplate: def({
    ...base,
    method: 'POST',
    path: '/v1/vms/:id/template',
    summary:
      "Save a VM's configuration (resources, boot source, env, labels, user and SSH keys, volume sizes) as a template.",
    params: IdParam,
    body: SaveTemplateBody,
    response: Template,
    status: 201,
    errors: ['VM_NOT_FOUND', 'TEMPLATE_NAME_TAKEN'],
  }),
} as const;
