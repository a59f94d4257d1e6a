import { HearthError, type CreateVmBody, type PoolSpec } from '@hearth/contract';
import type { Stores } from '../../store/index.ts';

/** The boot-time fields every VM of a pool shares: its spec over its template's. */
export type PoolBoot = Pick<
  CreateVmBody,
  | 'image'
  | 'kernel'
  | 'vcpus'
  | 'memoryMib'
  | 'diskSize'
  | 'vmm'
  | 'network'
  | 'networks'
  | 'egress'
  | 'bandwidthMbit'
> & { vcpus: number; memoryMib: number };

const DEFAULT_VCPUS = 1;
const DEFAULT_MEMORY_MIB = 128;

/**
 * A pool's spec resolved against its template (TEMPLATE_NOT_FOUND when it names none of the
 * project's), with the defaults of a create applied.
 */
export async function poolBoot(stores: Stores, project: string, spec: PoolSpec): Promise<PoolBoot> {
  const t = spec.template ? (await stores.templates.require(spec.template, project)).spec : undefined;
  const pick = <K extends keyof PoolSpec & keyof NonNullable<typeof t>>(k: K) => spec[k] ?? t?.[k];
  const networks = spec.networks ?? t?.networks;
  const network = spec.network ?? (spec.networks ? undefined : t?.network);
  return {
    vcpus: spec.vcpus ?? t?.vcpus ?? DEFAULT_VCPUS,
    memoryMib: spec.memoryMib ?? t?.memoryMib ?? DEFAULT_MEMORY_MIB,
    ...defined({
      image: pick('image'),
      kernel: pick('kernel'),
      diskSize: pick('diskSize'),
      vmm: pick('vmm'),
      egress: pick('egress'),
      bandwidthMbit: pick('bandwidthMbit'),
      ...(networks?.length ? { networks } : { network: network === 'default' ? undefined : network }),
    }),
  };
}

function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Checks what a pool's spec names (template, image, kernel, networks) exists in the project, so a
 * pool that can never fill is refused when created rather than failing in the background.
 */
export async function assertPoolSpec(stores: Stores, project: string, spec: PoolSpec): Promise<PoolBoot> {
  const boot = await poolBoot(stores, project, spec);
  // Runtime images are built on first use: the first refill builds them.
  if (boot.image && !boot.image.startsWith('runtime-')) await stores.images.require(boot.image, project);
  if (boot.kernel) await stores.images.require(boot.kernel, project, 'kernel');
  const nets = boot.networks?.map((n) => (typeof n === 'string' ? n : n.network)) ?? [];
  for (const n of boot.network ? [boot.network, ...nets] : nets) await stores.networks.require(n, project);
  return boot;
}

/** Fields of a create that a VM from the pool cannot honour differently from the pool's spec. */
const BOOT_FIELDS = [
  'image',
  'kernel',
  'diskSize',
  'diskGib',
  'vmm',
  'network',
  'networks',
  'egress',
  'bandwidthMbit',
  'host',
  'ports',
  'snapshot',
] as const;

/**
 * POOL_MISMATCH when a create with `pool` asks for something the pool's VMs were not booted
 * with. vCPUs and memory have defaults in a create, so only a value other than the default and
 * the pool's own counts as asked for.
 */
export function assertFitsPool(
  body: CreateVmBody & { vcpus: number; memoryMib: number; start: boolean },
  boot: PoolBoot,
  pool: string,
): void {
  const fields: Record<string, string[]> = {};
  for (const k of BOOT_FIELDS) {
    const asked = body[k];
    if (asked === undefined) continue;
    const has = (boot as Record<string, unknown>)[k];
    if (JSON.stringify(asked) !== JSON.stringify(has)) fields[k] = ['set by the pool'];
  }
  if (body.vcpus !== boot.vcpus && body.vcpus !== DEFAULT_VCPUS)
    fields.vcpus = [`the pool's VMs have ${boot.vcpus}`];
  if (body.memoryMib !== boot.memoryMib && body.memoryMib !== DEFAULT_MEMORY_MIB)
    fields.memoryMib = [`the pool's VMs have ${boot.memoryMib}`];
  if (!body.start) fields.start = ['a VM from a pool is running'];
  const keys = Object.keys(fields);
  if (!keys.length) return;
  throw new HearthError(
    'POOL_MISMATCH',
    `Creating the VM from pool "${pool}" failed: ${keys.join(', ')} ${keys.length > 1 ? 'differ' : 'differs'} from the pool's spec.`,
    { fields },
  );
}
