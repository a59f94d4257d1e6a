import { HearthError, type ContainerStats, type ExecBody } from '@hearth/contract';
import type { ContainerRow } from '../../store/containers.ts';
import { ociOf } from './guest-app.ts';
import { openSecrets } from '../open-secrets.ts';
import type { ContainerContext } from './context.ts';

/** The container's VM's host and id, when its app can be reached (the container is running). */
export async function guestOf(ctx: ContainerContext, ref: string, project: string, what: string) {
  const c = await ctx.stores.containers.require(ref, project);
  if (!['running', 'restarting'].includes(c.state) || c.vm_state !== 'running' || !c.vm_id || !c.vm_host) {
    throw new HearthError(
      'CONTAINER_NOT_RUNNING',
      `${what} in container "${c.name}" failed: it is ${c.state}, not running.`,
      { detail: { state: c.state } },
    );
  }
  return { c, host: await ctx.stores.hosts.requireForCall(c.vm_host), vmId: c.vm_id };
}

/**
 * An exec's defaults from the container, as `docker exec` has them: its environment (the image's
 * ENV, its env and secrets; the request's env wins), its working directory and user.
 */
export async function execDefaults(
  ctx: ContainerContext,
  c: ContainerRow,
  body: ExecBody,
): Promise<ExecBody> {
  const oci = c.image_id ? ociOf((await ctx.stores.images.getUnscoped(c.image_id))?.meta ?? {}) : {};
  const env: Record<string, string> = {};
  for (const kv of oci.env ?? []) {
    const i = kv.indexOf('=');
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  Object.assign(env, c.spec.env ?? {});
  Object.assign(
    env,
    await openSecrets(ctx.stores, ctx.sealer, c.project, c.spec.secretEnv ?? {}, `Exec in "${c.name}"`),
  );
  Object.assign(env, body.env ?? {});
  const user = body.user ?? (c.spec.user || oci.user || undefined);
  const cwd = body.cwd ?? c.spec.workdir ?? (oci.workdir || undefined);
  return {
    ...body,
    env,
    ...(cwd ? { cwd } : {}),
    ...(user && user.length <= 32 ? { user } : {}),
  };
}

/** Stats from the guest's metrics: what a container user reads in `docker stats`. */
export async function containerStats(
  ctx: ContainerContext,
  ref: string,
  project: string,
): Promise<ContainerStats> {
  const { host, vmId } = await guestOf(ctx, ref, project, 'Reading stats');
  const m = await ctx.agents.call(host, 'metrics', { params: { id: vmId } });
  const nics = m.network.filter((n) => n.name !== 'lo');
  return {
    cpuPercent: m.cpuPercent,
    memoryBytes: m.memory.usedBytes,
    memoryLimitBytes: m.memory.totalBytes,
    netRxBytes: nics.reduce((a, n) => a + n.rxBytes, 0),
    netTxBytes: nics.reduce((a, n) => a + n.txBytes, 0),
    diskReadBytes: m.disk.readBytes ?? null,
    diskWriteBytes: m.disk.writeBytes ?? null,
    pids: m.processes,
    at: m.at,
  };
}
