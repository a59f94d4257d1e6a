import { HearthError, type Container } from '@hearth/contract';
import type { ContainerRow } from '../../store/containers.ts';
import type { ContainerContext } from './context.ts';
import { containerFromRow } from './mapper.ts';

/** States a container may be removed from without `force`. */
const REMOVABLE = ['exited', 'failed', 'creating', 'removing'];

/** How long a removal waits for the host to delete the VM before answering. */
const VM_GONE_MS = 120_000;

/**
 * Removes a container: refused while it runs unless `force` (its VM is deleted, running or not);
 * answers once the VM is gone, then the record and, with `volumes`, its named volumes (those no
 * other container names).
 */
export async function removeContainer(
  ctx: ContainerContext,
  ref: string,
  project: string,
  opts: { force: boolean; volumes: boolean },
  actor: string,
): Promise<Container> {
  const c = await ctx.stores.containers.require(ref, project);
  if (!opts.force && !REMOVABLE.includes(c.state) && c.phase !== 'pulling') {
    throw new HearthError(
      'CONTAINER_INVALID_STATE',
      `Removing container "${c.name}" failed: it is ${c.state}; stop it first or remove it with force.`,
      { detail: { state: c.state, action: 'delete' } },
    );
  }
  const shown = { ...containerFromRow(c), state: 'removing' as const };
  await ctx.stores.containers.patch(c.id, { phase: 'removing' });
  ctx.changed.emit('container', c.id);
  if (c.vm_id && c.vm_state !== null) {
    if (c.vm_state !== 'deleting') await ctx.vms.delete(c.vm_id, project, actor);
    // The record stays `removing` while its VM is still there (an unreachable host, say): a
    // later delete finishes the removal, and no volume is deleted from under a VM.
    if (!(await vmGone(ctx, c.vm_id, VM_GONE_MS))) return shown;
  }
  if (opts.volumes) await deleteVolumes(ctx, c);
  await ctx.stores.containers.delete(c.id);
  ctx.changed.emit('container', c.id);
  ctx.log.info({ container: c.id, actor }, 'container removed');
  return shown;
}

async function deleteVolumes(ctx: ContainerContext, c: ContainerRow): Promise<void> {
  for (const v of c.spec.volumes ?? []) {
    if ((await ctx.stores.containers.usingVolume(c.project, v.source, c.id)).length) continue;
    const vol = await ctx.stores.volumes.get(v.source, c.project);
    if (vol && !vol.vm_id) await ctx.volumes.delete(vol.id, c.project);
  }
}

/** True once the VM's record is gone (deleted by its host); false when it failed or after `ms`. */
function vmGone(ctx: ContainerContext, vmId: string, ms: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const done = (gone: boolean) => {
      clearTimeout(timer);
      ctx.bus.off('gone', onGone);
      ctx.bus.off('vm', onVm);
      resolve(gone);
    };
    const check = () =>
      void ctx.stores.vms.getUnscoped(vmId).then(
        (row) => {
          if (!row) done(true);
        },
        () => undefined,
      );
    const onGone = (id: string) => id === vmId && done(true);
    const onVm = (vm: { id: string; state: string }) =>
      vm.id === vmId && vm.state === 'failed' && done(false);
    const timer = setTimeout(() => done(false), ms);
    ctx.bus.on('gone', onGone);
    ctx.bus.on('vm', onVm);
    check();
  });
}
