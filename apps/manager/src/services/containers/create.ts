import { randomBytes } from 'node:crypto';
import { CreateContainerBody, HearthError, newId, type Container } from '@hearth/contract';
import type { z } from 'zod';
import type { ContainerSpec } from '../../db/schema.ts';
import type { ImageRow } from '../../store/mappers.ts';
import type { ContainerRow } from '../../store/containers.ts';
import { background, type ContainerContext } from './context.ts';
import { chooseImage, pullImage } from './image-ref.ts';
import { CONTAINER_LABEL, containerArgv, ociOf } from './guest-app.ts';
import { openSecrets } from '../open-secrets.ts';
import { containerFromRow } from './mapper.ts';

type Body = z.output<typeof CreateContainerBody>;

const DEFAULT_VOLUME_SIZE = '1gb';

function specOf(b: Body): ContainerSpec {
  const { name: _n, project: _p, image: _i, pull: _pl, ...spec } = b;
  return spec;
}

/** A generated name: two short random words are not needed, a readable suffix is enough. */
const generatedName = () => `ctr-${randomBytes(4).toString('hex')}`;

/**
 * Creates a container: checks what can be checked at once (name, secrets, network, image), then
 * either creates its VM now (an imported image: VM and port errors reach the caller) or answers
 * `pulling` and continues in the background once the import is done.
 */
export async function createContainer(
  ctx: ContainerContext,
  body: Body,
  project: string,
  actor: string,
): Promise<Container> {
  const name = body.name ?? generatedName();
  const what = `Creating container "${name}"`;
  if (await ctx.stores.containers.nameTaken(name, project)) {
    throw new HearthError(
      'CONTAINER_NAME_TAKEN',
      `${what} failed: the project has a container of that name.`,
      {
        fields: { name: ['already taken'] },
      },
    );
  }
  await openSecrets(ctx.stores, ctx.sealer, project, body.secretEnv ?? {}, what);
  if (body.network && !(await ctx.stores.networks.get(body.network, project))) {
    throw new HearthError(
      'NETWORK_NOT_FOUND',
      `${what} failed: no network "${body.network}" in the project.`,
      {
        fields: { network: ['no such network'] },
      },
    );
  }
  const choice = await chooseImage(ctx, body.image, body.pull, project);
  if ('image' in choice) assertRunnable(body, choice.image, what);
  const id = newId('ctr');
  const spec = specOf(body);
  let row = await ctx.stores.containers.insert({
    id,
    name,
    project,
    image: body.image,
    spec,
    phase: 'image' in choice ? 'creating' : 'pulling',
  });
  await ctx.stores.containers.addEvent(id, 'created', `created from ${body.image}`);
  if ('image' in choice) {
    try {
      row = await buildVm(ctx, row, choice.image, actor);
    } catch (e) {
      await ctx.stores.containers.delete(id);
      throw e;
    }
    if (body.start) await startVm(ctx, row, actor);
    ctx.changed.emit('container', id);
    return containerFromRow(await ctx.stores.containers.requireUnscoped(id));
  }
  await ctx.stores.containers.patch(id, { pull: { percent: null, message: `pulling ${body.image}` } });
  // The answer is the container as created (pulling): a pull that fails at once (a refused
  // connection) must not turn the create's own answer into a failure.
  const created = containerFromRow(await ctx.stores.containers.requireUnscoped(id));
  background(ctx, 'container pull', () => pullThenBuild(ctx, row, choice.pull, actor));
  return created;
}

/**
 * Work a manager stopped in the middle of (a restart or crash): pulls start over, a VM creation
 * that never finished fails the container, a removal is finished.
 */
export async function resumeInterrupted(ctx: ContainerContext, actor: string): Promise<void> {
  for (const c of await ctx.stores.containers.unfinished()) {
    if (c.phase === 'pulling') {
      background(ctx, 'container pull', () => pullThenBuild(ctx, c, c.image, actor));
    } else if (c.phase === 'creating') {
      if (c.vm_id) await ctx.vms.delete(c.vm_id, c.project, actor).catch(() => undefined);
      const reason = 'creating its VM was interrupted by a manager restart';
      if (await ctx.stores.containers.movePhase(c.id, 'creating', 'failed', reason))
        await ctx.stores.containers.addEvent(c.id, 'failed', reason);
    }
  }
}

function assertRunnable(body: Body, image: ImageRow, what: string): void {
  const oci = ociOf(image.meta);
  if (image.meta.init === 'hearth-guest' && !containerArgv(body, oci).length) {
    throw new HearthError(
      'VALIDATION_FAILED',
      `${what} failed: image "${image.name}" names no command (no ENTRYPOINT or CMD); give \`command\`.`,
      { fields: { command: ['required: the image has no ENTRYPOINT or CMD'] } },
    );
  }
}

async function pullThenBuild(
  ctx: ContainerContext,
  row: ContainerRow,
  ref: string,
  actor: string,
): Promise<void> {
  const fail = async (reason: string) => {
    if (await ctx.stores.containers.movePhase(row.id, 'pulling', 'failed', reason)) {
      await ctx.stores.containers.addEvent(row.id, 'failed', reason);
    }
    ctx.changed.emit('container', row.id);
  };
  let image: ImageRow;
  try {
    const { row: img, cached } = await pullImage(ctx, row.id, ref, row.project);
    image = img;
    await ctx.stores.containers.addEvent(
      row.id,
      'pulled',
      `${cached ? 'found' : 'pulled'} ${ref} as image ${img.name} (${String(img.meta.ociDigest ?? img.sha256)})`,
    );
    assertRunnable(
      { ...row.spec, command: row.spec.command } as Body,
      img,
      `Creating container "${row.name}"`,
    );
  } catch (e) {
    return fail(`pulling ${ref} failed: ${(e as Error).message}`);
  }
  if (!(await ctx.stores.containers.movePhase(row.id, 'pulling', 'creating', null))) return;
  try {
    const built = await buildVm(ctx, await ctx.stores.containers.requireUnscoped(row.id), image, actor);
    if (row.spec.start !== false) await startVm(ctx, built, actor);
  } catch (e) {
    await ctx.stores.containers.movePhase(row.id, 'creating', 'failed', (e as Error).message);
    await ctx.stores.containers.addEvent(row.id, 'failed', (e as Error).message);
  }
  ctx.changed.emit('container', row.id);
}

/** The VM name: the container's when free among the project's VMs, else with a suffix. */
async function vmName(ctx: ContainerContext, c: ContainerRow): Promise<string> {
  if (!(await ctx.stores.vms.get(c.name, c.project))) return c.name;
  return `${c.name.slice(0, 54)}-${randomBytes(4).toString('hex')}`;
}

/** Creates the container's VM (not started), its named volumes, and links them. */
async function buildVm(
  ctx: ContainerContext,
  c: ContainerRow,
  image: ImageRow,
  actor: string,
): Promise<ContainerRow> {
  const s = c.spec;
  const vm = await ctx.vms.create(
    {
      name: await vmName(ctx, c),
      project: c.project,
      image: image.id,
      vcpus: s.vcpus,
      memoryMib: s.memoryMib,
      ...(s.diskSize ? { diskSize: s.diskSize } : {}),
      env: s.env ?? {},
      labels: { ...s.labels, [CONTAINER_LABEL]: c.id },
      ports: (s.ports ?? []).map((p) => ({ host: p.host, guest: p.container, protocol: p.protocol })),
      ...(s.network ? { network: s.network } : {}),
      // The names other containers reach it by on its network (compose service names).
      ...(s.networkAliases?.length ? { dnsAliases: s.networkAliases } : {}),
      ...(s.egress ? { egress: s.egress } : {}),
      start: false,
    },
    c.project,
    actor,
  );
  try {
    for (const v of s.volumes ?? []) {
      const existing = await ctx.stores.volumes.get(v.source, c.project);
      if (!existing) {
        await ctx.volumes.create({
          name: v.source,
          project: c.project,
          size: v.size ?? DEFAULT_VOLUME_SIZE,
          format: 'ext4',
          ...(vm.host ? { host: vm.host } : {}),
        });
        await ctx.stores.containers.addEvent(c.id, 'volume', `created volume ${v.source}`);
      }
      await ctx.volumes.attach(v.source, c.project, vm.id, v.readOnly);
    }
  } catch (e) {
    await ctx.vms.delete(vm.id, c.project, actor).catch(() => undefined);
    throw e;
  }
  await ctx.stores.containers.patch(c.id, {
    vm_id: vm.id,
    phase: 'vm',
    phase_reason: null,
    pull: null,
    image_id: image.id,
    image_digest: typeof image.meta.ociDigest === 'string' ? image.meta.ociDigest : null,
  });
  return ctx.stores.containers.requireUnscoped(c.id);
}

/** Boots the container's VM (a user's start: restart policies apply again). */
export async function startVm(ctx: ContainerContext, c: ContainerRow, actor: string): Promise<void> {
  await ctx.stores.containers.patch(c.id, {
    user_stopped: false,
    // The app's restarts so far are kept; the guest counts from zero again after a boot.
    restarts: c.restarts + (c.vm_app?.restarts ?? 0),
  });
  await ctx.vms.action(c.vm_id!, c.project, 'start', actor);
  await ctx.stores.containers.addEvent(c.id, 'start', `starting (VM ${c.vm_id})`);
}
