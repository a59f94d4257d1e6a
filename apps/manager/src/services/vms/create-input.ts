import { randomBytes } from 'node:crypto';
import { canonicalImageName, HearthError, Name, parseSize, type CreateVmBody } from '@hearth/contract';
import type { ImageRow } from '../../store/mappers.ts';
import type { VmGuest } from '../../store/vms.ts';
import { hashPassword } from '../password.ts';
import type { VmContext } from './context.ts';

export type CreateInput = Required<Pick<CreateVmBody, 'project' | 'vcpus' | 'memoryMib' | 'start'>> &
  CreateVmBody & {
    /**
     * Extra DNS names (labels) for the VM on each of its networks, besides its own name: set by
     * services that create VMs for their own resources (a container's network aliases); the public
     * create body has no such field.
     */
    dnsAliases?: string[];
  };

const DEFAULT_DISK_BYTES = 2 ** 30;
const MAX_DISK_BYTES = 4 * 2 ** 40;

/** Fields a clone takes from its snapshot, so a create from a snapshot must not set them. */
const SET_BY_SNAPSHOT = [
  'image',
  'kernel',
  'diskSize',
  'diskGib',
  'env',
  'user',
  'password',
  'sshKeys',
  'userData',
  'timeout',
  'vmm',
  'network',
  'networks',
] as const;

/** A create from a snapshot gives only what a clone may choose itself (name, project, labels). */
export function assertCloneInput(body: CreateInput): void {
  const given = SET_BY_SNAPSHOT.filter((k) => body[k] !== undefined);
  if (!given.length && body.start !== false) return;
  throw new HearthError(
    'VALIDATION_FAILED',
    'Creating the VM failed: a clone takes its image, kernel, disk, credentials and VMM from the snapshot.',
    {
      fields: Object.fromEntries(
        [...given, ...(body.start === false ? ['start'] : [])].map((k) => [k, ['not allowed with snapshot']]),
      ),
    },
  );
}

/**
 * The rootfs and kernel images a new VM boots: by name or id among the project's images and the
 * global ones, a runtime or a Debian image built on first use.
 */
export async function resolveBootImages(
  ctx: VmContext,
  body: CreateInput,
): Promise<{ image: ImageRow; kernel: ImageRow; carried: ImageRow | null }> {
  const imageName = canonicalImageName(body.image ?? 'base');
  const kernelName = body.kernel ?? 'kernel-default';
  // Both looked up in one statement; a runtime image missing from it is built on first use.
  const [foundImage, foundKernel] = await ctx.stores.images.getPairForUse(
    imageName,
    kernelName,
    body.project,
  );
  const image =
    foundImage ??
    (await ctx.images?.runtimes.resolve(imageName)) ??
    (await ctx.images?.distros.resolve(imageName)) ??
    (await ctx.stores.images.requireForUse(imageName, body.project, 'image'));
  if (image.status === 'pending') {
    throw new HearthError(
      'IMAGE_NOT_READY',
      `Creating the VM failed: image "${image.name}" has no content yet (upload it first).`,
      { fields: { image: ['image content not uploaded'] } },
    );
  }
  const kernel = foundKernel ?? (await ctx.stores.images.requireForUse(kernelName, body.project, 'kernel'));
  if (image.kind !== 'rootfs') {
    throw new HearthError(
      'IMAGE_KIND_MISMATCH',
      `Creating the VM failed: image "${image.name}" is a ${image.kind}, not a rootfs.`,
      { fields: { image: ['not a rootfs image'] } },
    );
  }
  if (kernel.kind !== 'kernel') {
    throw new HearthError(
      'IMAGE_KIND_MISMATCH',
      `Creating the VM failed: kernel "${kernel.name}" is a ${kernel.kind}, not a kernel.`,
      { fields: { kernel: ['not a kernel image'] } },
    );
  }
  // The kernel a whole-disk image carries (recorded at import), unless one was asked for by name.
  const carriedId =
    body.kernel === undefined && typeof image.meta.kernel === 'string' ? image.meta.kernel : null;
  const carried = carriedId ? await ctx.stores.images.getUnscoped(carriedId) : null;
  return {
    image,
    kernel,
    carried: carried?.kind === 'kernel' && carried.status === 'ready' ? carried : null,
  };
}

/**
 * The kernel a VM boots: the one its image carries when the VMM can boot it (Firecracker takes
 * an ELF vmlinux only; QEMU both that and a bzImage), else the one asked for or the default.
 * `note` says which, for the VM's history.
 */
export function kernelFor(
  vmm: string,
  boot: { kernel: ImageRow; carried: ImageRow | null },
): { kernel: ImageRow; note: string } {
  const { kernel, carried } = boot;
  if (!carried) return { kernel, note: '' };
  if (vmm === 'firecracker' && carried.format !== 'elf')
    return {
      kernel,
      note: `; kernel ${kernel.name}: ${vmm} cannot boot the image's ${carried.format} kernel ${carried.name}`,
    };
  return { kernel: carried, note: `; the image's own kernel ${carried.name}` };
}

/** The disk size asked for (`diskSize` or `diskGib`, 1 GiB by default), at most 4 TiB, at least the image. */
export function diskBytesFor(body: CreateInput, image: ImageRow): number {
  let diskBytes = DEFAULT_DISK_BYTES;
  if (body.diskSize !== undefined) {
    const parsed = parseSize(body.diskSize);
    if (parsed === null || parsed <= 0) {
      throw new HearthError(
        'VALIDATION_FAILED',
        `Creating the VM failed: diskSize "${body.diskSize}" is not a size.`,
        {
          fields: { diskSize: ['must look like 2gb or 512mib'] },
        },
      );
    }
    diskBytes = parsed;
  } else if (body.diskGib !== undefined) diskBytes = body.diskGib * 2 ** 30;
  if (diskBytes > MAX_DISK_BYTES) {
    throw new HearthError(
      'VALIDATION_FAILED',
      `Creating the VM failed: a ${body.diskSize ?? `${body.diskGib}gib`} disk is larger than the 4 TiB limit.`,
      { fields: { [body.diskSize !== undefined ? 'diskSize' : 'diskGib']: ['at most 4tib'] } },
    );
  }
  const imageBytes = Number(image.size_bytes);
  if (diskBytes < imageBytes) {
    throw new HearthError(
      'VALIDATION_FAILED',
      `Creating the VM failed: the disk (${diskBytes} bytes) is smaller than image "${image.name}" (${imageBytes} bytes).`,
      { fields: { diskSize: [`at least ${Math.ceil(imageBytes / 2 ** 20)}mib`] } },
    );
  }
  return diskBytes;
}

/** The guest channel's secret and the user set up at boot, if credentials were given. */
export async function guestCredentials(body: CreateInput): Promise<VmGuest> {
  return {
    secret: randomBytes(24).toString('base64url'),
    users:
      body.user || body.password || body.sshKeys?.length
        ? [
            {
              name: body.user ?? 'root',
              passwordHash: body.password ? await hashPassword(body.password) : null,
              sshKeys: body.sshKeys ?? [],
            },
          ]
        : [],
    ...(body.userData !== undefined ? { userData: body.userData } : {}),
  };
}

/** The extra DNS names asked for: DNS labels, each once, at most 8 (as a container's aliases). */
export function dnsAliasesFor(body: CreateInput): string[] {
  const aliases = body.dnsAliases ?? [];
  const bad = aliases.filter((a) => !Name.safeParse(a).success);
  if (bad.length || aliases.length > 8) {
    throw new HearthError(
      'VALIDATION_FAILED',
      bad.length
        ? `Creating the VM failed: DNS alias "${bad[0]}" is not a DNS label.`
        : `Creating the VM failed: ${aliases.length} DNS aliases given, at most 8 are allowed.`,
      { fields: { dnsAliases: [bad.length ? 'must be lowercase letters, digits and dashes' : 'at most 8'] } },
    );
  }
  return [...new Set(aliases)];
}
