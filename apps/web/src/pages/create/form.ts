import { CreateVmBody, HearthError, type ErrorCode } from '@hearth/contract';
import type { z } from 'zod';

export type BootSource = 'image' | 'runtime' | 'oci' | 'snapshot';
export const RUNTIMES = ['node22', 'python3'] as const;
export type Runtime = (typeof RUNTIMES)[number];

/** What the wizard's inputs hold: strings, as typed. */
export interface CreateForm {
  name: string;
  project: string;
  vcpus: string;
  memoryMib: string;
  diskSize: string;
  vmm: '' | 'qemu' | 'firecracker';
  timeout: string;
  /** What the VM boots from: an image, a runtime image, an OCI reference (imported first) or a snapshot. */
  source: BootSource;
  image: string;
  kernel: string;
  runtime: Runtime;
  ociRef: string;
  snapshot: string;
  env: string;
  user: string;
  password: string;
  sshKeys: string;
}

export const emptyForm: CreateForm = {
  name: '',
  project: 'default',
  vcpus: '1',
  memoryMib: '128',
  diskSize: '1gb',
  vmm: '',
  timeout: '',
  source: 'image',
  image: '',
  kernel: '',
  runtime: 'node22',
  ociRef: '',
  snapshot: '',
  env: '',
  user: '',
  password: '',
  sshKeys: '',
};

export type FieldErrors = Partial<Record<string, string[]>>;

export const STEPS = [
  { id: 'basics', title: 'Basics', fields: ['name', 'project', 'labels'] },
  {
    id: 'resources',
    title: 'Resources',
    fields: ['vcpus', 'memoryMib', 'diskSize', 'diskGib', 'vmm', 'timeout'],
  },
  { id: 'boot', title: 'Boot source', fields: ['image', 'kernel', 'runtime', 'ociRef', 'snapshot'] },
  { id: 'network', title: 'Network', fields: ['env'] },
  { id: 'credentials', title: 'Credentials & review', fields: ['user', 'password', 'sshKeys', 'start'] },
] as const;

const lines = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

/**
 * Empty inputs are left out so the API's defaults apply, exactly as with the CLI. The boot source
 * maps to `image` (an image, or `runtime-<name>`), or to `snapshot` (a clone takes everything else
 * from it, so only name, project and labels go along). An OCI reference is imported first; its
 * image id comes in as `importedImage`.
 */
export function toBody(f: CreateForm, importedImage?: string): CreateVmBody {
  const num = (s: string) => (s.trim() === '' ? undefined : Number(s));
  const text = (s: string) => (s.trim() === '' ? undefined : s.trim());
  const env = lines(f.env);
  const keys = lines(f.sshKeys);
  const body: Record<string, unknown> = {
    name: text(f.name),
    project: text(f.project),
    vcpus: num(f.vcpus),
    memoryMib: num(f.memoryMib),
    diskSize: text(f.diskSize),
    vmm: f.vmm || undefined,
    timeout: text(f.timeout),
    image:
      f.source === 'runtime'
        ? `runtime-${f.runtime}`
        : f.source === 'oci'
          ? importedImage
          : f.source === 'image'
            ? text(f.image)
            : undefined,
    kernel: f.source === 'snapshot' ? undefined : text(f.kernel),
    env: env.length
      ? Object.fromEntries(env.map((l) => [l.split('=')[0]!, l.slice(l.indexOf('=') + 1)]))
      : undefined,
    user: text(f.user),
    password: f.password === '' ? undefined : f.password,
    sshKeys: keys.length ? keys : undefined,
  };
  for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
  if (f.source === 'snapshot') {
    const clone: Record<string, unknown> = {
      name: body.name,
      project: body.project,
      snapshot: text(f.snapshot),
    };
    for (const k of Object.keys(clone)) if (clone[k] === undefined) delete clone[k];
    return clone as CreateVmBody;
  }
  return body as CreateVmBody;
}

/** Zod issues keyed by field, the same way the API builds `fields` (dotted paths). */
export function issuesToFields(issues: z.core.$ZodIssue[]): FieldErrors {
  const out: Record<string, string[]> = {};
  for (const i of issues) {
    // Nested paths (env.FOO, sshKeys.0) belong to the input that holds the whole value.
    const key = String(i.path[0] ?? '(body)');
    (out[key] ??= []).push(i.path.length > 1 ? `${i.path.slice(1).join('.')}: ${i.message}` : i.message);
  }
  return out;
}

/** The same rules the API applies (the contract's CreateVmBody), checked before sending. */
export function validate(f: CreateForm): FieldErrors {
  const env = lines(f.env).filter((l) => !l.includes('='));
  const r = CreateVmBody.safeParse(toBody(f));
  const errors = r.success ? {} : issuesToFields(r.error.issues);
  if (env.length) (errors.env ??= []).push(`each line must look like NAME=value (check "${env[0]}")`);
  if (f.source === 'oci' && !f.ociRef.trim())
    (errors.ociRef ??= []).push('give an OCI reference such as alpine:3.20');
  if (f.source === 'snapshot' && !f.snapshot) (errors.snapshot ??= []).push('choose a snapshot to clone');
  return errors;
}

/** API errors that concern one input even though they carry no `fields`. */
const CODE_FIELD: Partial<Record<ErrorCode, string>> = {
  VM_NAME_TAKEN: 'name',
  SNAPSHOT_NOT_FOUND: 'snapshot',
  SNAPSHOT_INCOMPATIBLE: 'snapshot',
  IMAGE_SOURCE_NOT_FOUND: 'ociRef',
  IMAGE_SOURCE_UNREACHABLE: 'ociRef',
  IMAGE_FORMAT_INVALID: 'ociRef',
  IMAGE_IMPORT_FAILED: 'ociRef',
  IMAGE_NOT_FOUND: 'image',
  VCPUS_EXCEED_HOST: 'vcpus',
  MEMORY_EXCEEDS_HOST: 'memoryMib',
  VMM_UNAVAILABLE: 'vmm',
};

/** Splits an API failure into messages next to fields, and whatever belongs to no field. */
export function apiErrors(e: unknown): { fields: FieldErrors; general: string | null } {
  if (!(e instanceof HearthError)) return { fields: {}, general: (e as Error).message };
  if (e.fields && Object.keys(e.fields).length) {
    const fields: Record<string, string[]> = {};
    for (const [path, msgs] of Object.entries(e.fields)) {
      const [head, ...rest] = path.split('.');
      for (const m of msgs) (fields[head!] ??= []).push(rest.length ? `${rest.join('.')}: ${m}` : m);
    }
    return { fields, general: null };
  }
  const field = CODE_FIELD[e.code];
  return field ? { fields: { [field]: [e.message] }, general: null } : { fields: {}, general: e.message };
}

/** The first wizard step holding an error, so the wizard can take the user there. */
export function firstStepWithError(errors: FieldErrors): number | null {
  const i = STEPS.findIndex((s) => s.fields.some((f) => errors[f]?.length));
  return i < 0 ? (Object.keys(errors).length ? STEPS.length - 1 : null) : i;
}

export function stepErrors(errors: FieldErrors, step: number): FieldErrors {
  const fields: readonly string[] = STEPS[step]!.fields;
  return Object.fromEntries(Object.entries(errors).filter(([k]) => fields.includes(k)));
}
