import { CreateTemplateBody, InstantiateBody, type Network, type TemplateSpec } from '@hearth/contract';
import type { z } from 'zod';
import { apiFields, issuesToFields, mergeErrors, type FieldErrors } from '../../lib/fields.ts';
import { emptyForm, toBody, type CreateForm } from '../create/form.ts';
import { checkNics, checkPolicy } from '../networks/vm-net.ts';

/** The template form: the wizard's inputs that a template keeps (no name or password), plus its own. */
export interface TemplateForm extends CreateForm {
  templateName: string;
  description: string;
  /** One volume per line: `10gb` or `10gb raw`. */
  volumes: string;
}

export const emptyTemplateForm: TemplateForm = {
  ...emptyForm,
  templateName: '',
  description: '',
  volumes: '',
};

const SPEC_KEYS = [
  'vcpus',
  'memoryMib',
  'diskSize',
  'image',
  'kernel',
  'vmm',
  'env',
  'labels',
  'timeout',
  'user',
  'sshKeys',
  'egress',
  'bandwidthMbit',
] as const;

/**
 * The body of POST /v1/templates, read from the form the same way the wizard reads its own.
 * Networks are names only (each instance gets its own addresses); a template has no ports, since
 * a host port can be published by one VM only.
 */
export function toTemplateBody(f: TemplateForm): z.input<typeof CreateTemplateBody> {
  const vm = toBody({ ...f, source: 'image', ports: [], start: true }) as Record<string, unknown>;
  const spec: Record<string, unknown> = {};
  for (const k of SPEC_KEYS) if (vm[k] !== undefined) spec[k] = vm[k];
  if (vm.networks !== undefined) spec.networks = f.nics.map((n) => n.network);
  const volumes = f.volumes
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [size = '', format] = l.split(/\s+/);
      return format ? { size, format: format as 'ext4' } : { size };
    });
  if (volumes.length) spec.volumes = volumes;
  return {
    name: f.templateName.trim(),
    project: f.project.trim() || 'default',
    description: f.description.trim(),
    spec: spec as z.input<typeof CreateTemplateBody>['spec'],
  };
}

/**
 * The contract's CreateTemplateBody (with TemplateSpec inside), keyed by the form's inputs:
 * `spec.vcpus` belongs to the vCPUs input, `name` to the template name. The network inputs get
 * the wizard's plainer checks first.
 */
export function validateTemplate(f: TemplateForm, networks?: readonly Network[]): FieldErrors {
  const nics = f.nics.map((n) => ({ ...n, ip: '' }));
  const errors = { ...checkNics(nics, networks), ...checkPolicy(f, { ports: false }) };
  const r = CreateTemplateBody.safeParse(toTemplateBody(f));
  return r.success ? errors : mergeErrors(errors, templateFields(issuesToFields(r.error.issues.map(unnest))));
}

const unnest = (i: z.core.$ZodIssue): z.core.$ZodIssue =>
  i.path[0] === 'spec' ? { ...i, path: i.path.slice(1) } : i;

/**
 * The API's `fields` (spec.x) keyed the same way as the form's inputs (`spec.egress.allow.0` →
 * `egress.allow`); `name` is the template's name.
 */
export function templateFields(fields: FieldErrors): FieldErrors {
  const flat: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(fields)) {
    const key = k === 'name' ? 'templateName' : k.startsWith('spec.') ? k.slice(5) : k;
    flat[key] = [...(flat[key] ?? []), ...(v ?? [])];
  }
  return apiFields(flat);
}

export interface InstantiateForm {
  count: string;
  namePrefix: string;
  password: string;
}

export function toInstantiateBody(f: InstantiateForm): z.input<typeof InstantiateBody> {
  return {
    count: Number(f.count),
    ...(f.namePrefix.trim() ? { namePrefix: f.namePrefix.trim() } : {}),
    ...(f.password ? { password: f.password } : {}),
  };
}

export function validateInstantiate(f: InstantiateForm): FieldErrors {
  const r = InstantiateBody.safeParse(toInstantiateBody(f));
  return r.success ? {} : issuesToFields(r.error.issues);
}

export const specSummary = (s: TemplateSpec) =>
  `${s.vcpus} vCPU, ${s.memoryMib} MiB${s.diskSize ? `, disk ${s.diskSize}` : ''}`;
