import { HearthError } from '@hearth/contract';
import type { HostRow, VmRow } from '../../store/mappers.ts';
import { placeVm } from '../scheduler.ts';
import type { VmContext } from './context.ts';

const MiB = 2 ** 20;

/*
 * A stopped VM moves together with its snapshots (docs/migration.md § Stopped VMs and their
 * snapshots): a paused E2B sandbox is a stopped VM plus the memory snapshot it resumes from, and
 * both have to be on the host that restores it. Each snapshot's files (state, memory, disk, the
 * notes beside) are read by the source in the sparse encoding, streamed through this manager and
 * written by the destination under the same id, checked against the sha256 the source announced;
 * the copy becomes the snapshot there in one rename once every file arrived. The records name the
 * new host in the same transaction as the VM (VmStore.moveHost), and only then do the source's
 * files go.
 */

/** Ids of a VM's finished snapshots whose files are on `hostId`: what moves with it. */
export async function snapshotsOn(ctx: VmContext, vmId: string, hostId: string): Promise<string[]> {
  return (await ctx.stores.snapshots.ofVm(vmId))
    .filter((s) => s.host_id === hostId && s.state === 'ready')
    .map((s) => s.id);
}

/**
 * The MiB the carried snapshots take on disk (asked of the destination besides the VM's disk);
 * each must be a finished snapshot of this VM with its files on the VM's host.
 */
export async function carriedMib(ctx: VmContext, row: VmRow, ids: string[]): Promise<number> {
  let bytes = 0;
  for (const id of ids) {
    const s = await ctx.stores.snapshots.requireUnscoped(id);
    if (s.vm_id !== row.id || s.host_id !== row.host_id || s.state !== 'ready') {
      throw new HearthError(
        'MIGRATION_UNSUPPORTED',
        `Cannot move snapshot ${s.name} with VM "${row.name}": it is not a finished snapshot of that VM on its host.`,
      );
    }
    // Copies read data by content (zero blocks become holes), and a diff's holes mean "the base's
    // page": a diff, or a base a diff needs, stays on its host.
    const dependents = await ctx.stores.snapshots.dependents(s.id);
    if (s.type === 'diff' || dependents.length) {
      const diffs = s.type === 'diff' ? [s.name] : dependents.map((d) => d.name);
      throw new HearthError(
        'MIGRATION_UNSUPPORTED',
        `Cannot move VM "${row.name}" with snapshot ${s.name}: diff snapshots (${diffs.join(', ')}) and the snapshots they build on stay on their host; delete the diffs to move it.`,
        { detail: { snapshot: s.id, diffs } },
      );
    }
    bytes += Number(s.size_bytes);
  }
  return Math.ceil(bytes / MiB);
}

/** One stored snapshot copied from `from` to `to` under the same id; `say` reports progress. */
async function copyOne(
  ctx: VmContext,
  id: string,
  from: HostRow,
  to: HostRow,
  say: (text: string) => Promise<void>,
): Promise<void> {
  const { files } = await ctx.agents.call(from, 'snapshotFiles', { params: { snapshotId: id } });
  const total = files.reduce((n, f) => n + f.encodedBytes, 0);
  await say(`copying snapshot ${id}: ${(total / MiB).toFixed(1)} MiB in ${files.length} files`);
  for (const f of files) {
    const res = await ctx.agents.raw(
      from,
      'snapshotFileSend',
      { params: { snapshotId: id, file: f.name }, query: { sha256: f.sha256, encodedBytes: f.encodedBytes } },
      { stream: true },
    );
    const put = await ctx.agents.raw(
      to,
      'snapshotReceive',
      { params: { snapshotId: id, file: f.name }, query: { sizeBytes: f.sizeBytes, sha256: f.sha256 } },
      { body: res.body!, headers: { 'content-type': 'application/octet-stream' }, stream: true },
    );
    await put.text();
  }
  await ctx.agents.call(to, 'snapshotReceiveCommit', {
    params: { snapshotId: id },
    body: { files: files.map((f) => f.name) },
  });
}

/**
 * Copies every snapshot of `ids` to `to`; any failure removes what this copy made there (the
 * arrival cut short, the snapshots it committed) before it is thrown, so the source stays the one
 * place they are.
 */
export async function copySnapshots(
  ctx: VmContext,
  ids: string[],
  from: HostRow,
  to: HostRow,
  say: (text: string) => Promise<void>,
): Promise<void> {
  const done: string[] = [];
  for (const id of ids) {
    try {
      await copyOne(ctx, id, from, to, say);
      done.push(id);
    } catch (e) {
      await ctx.agents
        .call(to, 'snapshotReceiveAbort', { params: { snapshotId: id } })
        .catch((x: Error) =>
          ctx.log.warn({ snapshot: id, host: to.name, err: x.message }, 'removing an arrival failed'),
        );
      await dropCopies(ctx, to, done);
      throw e;
    }
  }
}

/** Removes `ids`' files from `host` (a copy given up, or the source's once the records moved). */
export async function dropCopies(ctx: VmContext, host: HostRow, ids: string[]): Promise<void> {
  for (const id of ids) {
    await ctx.agents
      .call(host, 'snapshotReceiveAbort', { params: { snapshotId: id } })
      .then(() => ctx.agents.deleteSnapshot(host, id))
      .catch((e: Error) =>
        ctx.log.warn(
          { snapshot: id, host: host.name, err: e.message },
          'removing a copy of a snapshot left by a move failed',
        ),
      );
  }
}

/**
 * After an interrupted cold move (move-recovery.ts): each snapshot of the VM keeps the files on
 * the host its record names, the copy on the other one goes.
 */
export async function settleSnapshotCopies(
  ctx: VmContext,
  vmId: string,
  from: HostRow | null | undefined,
  to: HostRow | null | undefined,
): Promise<void> {
  for (const s of await ctx.stores.snapshots.ofVm(vmId)) {
    const stale = s.host_id === to?.id ? from : s.host_id === from?.id ? to : null;
    if (stale && stale.state === 'ready') await dropCopies(ctx, stale, [s.id]);
  }
}

/**
 * Why a stopped VM cannot start again on the host it is on (it is gone, not ready, cordoned or
 * draining, or lacks the CPUs or memory now), or null when it can.
 */
export async function whyNotOnItsHost(ctx: VmContext, row: VmRow): Promise<string | null> {
  const host = row.host_id ? await ctx.stores.hosts.get(row.host_id) : null;
  if (!host) return 'its host is gone';
  if (host.state !== 'ready') return `its host ${host.name} is ${host.state}`;
  if (host.drain?.status === 'draining') return `its host ${host.name} is being drained`;
  if (host.cordoned) return `its host ${host.name} is cordoned`;
  try {
    // Its disk is on the host already: only CPUs and memory are asked for.
    placeVm(
      [host],
      { vcpus: row.vcpus, memoryMib: row.memory_mib, vmm: row.vmm ?? 'qemu', diskMib: 0, host: host.id },
      ctx.memory,
      ctx.disk,
      ctx.placement,
    );
    return null;
  } catch (e) {
    if (e instanceof HearthError) return `its host ${host.name} has no room for it (${e.message})`;
    throw e;
  }
}
