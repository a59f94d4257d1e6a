import {
  CreateVmBody,
  HearthError,
  runtimeImageName,
  type ErrorCode,
  type Network,
  type Runtime,
} from '@hearth/contract';
import { apiFields, issuesToFields, mergeErrors, type FieldErrors } from '../../lib/fields.ts';
import {
  checkNics,
  checkPolicy,
  DEFAULT_NETWORK,
  emptyPolicy,
  isOpenEgress,
  pinNicErrors,
  toBandwidth,
  toEgress,
  toPorts,
  type NicRow,
  type PolicyInput,
} from '../networks/vm-net.ts';

export { issuesToFields, type FieldErrors };

export type BootSource = 'image' | 'runtime' | 'oci' | 'snapshot' | 'pool';

/** What the wizard's inputs hold: strings, as typed (and the NIC and port rows). */
export interface CreateForm extends PolicyInput {
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
  /** A warm pool (name) to take a VM booted ahead of time from. */
  pool: string;
  env: string;
  user: string;
  password: string;
  sshKeys: string;
  /** In order; the first is the guest's eth0. */
  nics: NicRow[];
  /** Unchecked: created stopped (`start: false`). */
  start: boolean;
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
  pool: '',
  env: '',
  user: '',
  password: '',
  sshKeys: '',
  nics: [{ network: DEFAULT_NETWORK, ip: '' }],
  ...emptyPolicy,
  start: true,
};

/** Only the default network, no fixed address: the API's own default, so nothing is sent. */
const onlyDefault = (nics: NicRow[]) =>
  nics.length === 1 && nics[0]!.network === DEFAULT_NETWORK && !nics[0]!.ip.trim();

export const STEPS = [
  { id: 'basics', title: 'Basics', fields: ['name', 'project', 'labels'] },
  {
    id: 'resources',
    title: 'Resources',
    fields: ['vcpus', 'memoryMib', 'diskSize', 'diskGib', 'vmm', 'timeout'],
  },
  {
    id: 'boot',
    title: 'Boot source',
    fields: ['image', 'kernel', 'runtime', 'ociRef', 'snapshot', 'pool'],
  },
  {
    id: 'network',
    title: 'Network',
    fields: ['network', 'networks', 'ports', 'egress', 'bandwidthMbit', 'env'],
  },
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
 * image id comes in as `importedImage`. NICs, ports and egress are sent only when they differ from
 * the API's defaults (one NIC on the default network, none, allow all). A VM from a warm pool
 * takes its image, resources and network from the pool (the API refuses them with `pool`): only
 * its name, project, env, credentials and auto-stop go along.
 */
export function toBody(f: CreateForm, importedImage?: string): CreateVmBody {
  const num = (s: string) => (s.trim() === '' ? undefined : Number(s));
  const text = (s: string) => (s.trim() === '' ? undefined : s.trim());
  const env = lines(f.env);
  const keys = lines(f.sshKeys);
  const egress = toEgress(f);
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
        ? runtimeImageName(f.runtime)
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
    networks: onlyDefault(f.nics)
      ? undefined
      : f.nics.map((n) => (n.ip.trim() ? { network: n.network, ip: n.ip.trim() } : n.network)),
    ports: f.ports.length ? toPorts(f.ports) : undefined,
    egress: isOpenEgress(egress) ? undefined : egress,
    bandwidthMbit: toBandwidth(f.bandwidthMbit),
    start: f.start ? undefined : false,
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
  if (f.source === 'pool') {
    const pooled: Record<string, unknown> = { pool: text(f.pool) };
    for (const k of ['name', 'project', 'env', 'user', 'password', 'sshKeys', 'timeout'])
      if (body[k] !== undefined) pooled[k] = body[k];
    return pooled as CreateVmBody;
  }
  return body as CreateVmBody;
}

/**
 * The same rules the API applies (the contract's CreateVmBody), checked before sending, after
 * plainer checks of the network inputs; with the networks listed, fixed addresses are checked
 * against their network's subnet too.
 */
export function validate(f: CreateForm, networks?: readonly Network[]): FieldErrors {
  const env = lines(f.env).filter((l) => !l.includes('='));
  const r = CreateVmBody.safeParse(toBody(f));
  const own = f.source === 'snapshot' || f.source === 'pool';
  const errors = own ? {} : { ...checkNics(f.nics, networks), ...checkPolicy(f) };
  if (!r.success) mergeErrors(errors, issuesToFields(r.error.issues));
  if (env.length) (errors.env ??= []).push(`each line must look like NAME=value (check "${env[0]}")`);
  if (f.source === 'oci' && !f.ociRef.trim())
    (errors.ociRef ??= []).push('give an OCI reference such as alpine:3.20');
  if (f.source === 'snapshot' && !f.snapshot) (errors.snapshot ??= []).push('choose a snapshot to clone');
  if (f.source === 'pool' && !f.pool) (errors.pool ??= []).push('choose a pool');
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
  NETWORK_NOT_FOUND: 'networks',
  NETWORK_IP_UNAVAILABLE: 'networks',
  NETWORK_EXHAUSTED: 'networks',
  NETWORK_FEATURE_MISSING: 'networks',
  PORT_TAKEN: 'ports',
  POOL_NOT_FOUND: 'pool',
  POOL_MISMATCH: 'pool',
};

/**
 * Splits an API failure into messages next to fields, and whatever belongs to no field. With the
 * NICs given, a refused fixed address goes next to the NIC that asked for it.
 */
export function apiErrors(e: unknown, nics?: NicRow[]): { fields: FieldErrors; general: string | null } {
  if (!(e instanceof HearthError)) return { fields: {}, general: (e as Error).message };
  if (e.fields && Object.keys(e.fields).length) {
    const fields = apiFields(e.fields);
    return { fields: nics ? pinNicErrors(fields, nics) : fields, general: null };
  }
  const field = CODE_FIELD[e.code];
  return field ? { fields: { [field]: [e.message] }, general: null } : { fields: {}, general: e.message };
}

/**
 * Whether a failure also gets the alert under the form (message, code and the API's hint): every
 * one except a plain validation failure, whose `fields` already say everything next to the inputs.
 */
export const alertsFor = (e: unknown): boolean =>
  !!e && !(e instanceof HearthError && e.code === 'VALIDATION_FAILED' && e.fields);

/** Whether an error key (`ports.0` belongs to `ports`) is one of a step's inputs. */
const inStep = (step: number, key: string) =>
  (STEPS[step]!.fields as readonly string[]).includes(key.split('.')[0]!);

/** The first wizard step holding an error, so the wizard can take the user there. */
export function firstStepWithError(errors: FieldErrors): number | null {
  const keys = Object.keys(errors).filter((k) => errors[k]?.length);
  const i = STEPS.findIndex((_, n) => keys.some((k) => inStep(n, k)));
  return i < 0 ? (Object.keys(errors).length ? STEPS.length - 1 : null) : i;
}

export function stepErrors(errors: FieldErrors, step: number): FieldErrors {
  return Object.fromEntries(Object.entries(errors).filter(([k]) => inStep(step, k)));
}
