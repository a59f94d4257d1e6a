import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { diffBaseDir, diffsBuiltOn } from '@hearth/firecracker';
import {
  diffSnapshotRefused,
  HearthError,
  snapshotInUse,
  type AgentVmSpec,
  type AgentVmStatus,
} from '@hearth/contract';
import type { VmmSnapshotInfo } from '@hearth/vmm';
import { bootVm } from './boot/index.ts';
import type { VmContext } from './context.ts';
import { killExpected } from './expected-exit.ts';
import { flushGuestDisks } from './guest-access.ts';
import { importedSource } from './import-snapshot.ts';
import { exists, filesOf, persist } from './record.ts';
import {
  assertLayout,
  assertLoadable,
  readSnapshotMeta,
  snapshotSize,
  SNAPSHOT_LAYOUT,
  SNAPSHOT_META,
} from './restore-support.ts';
import { restoreDisks, snapshotDisks, type DiskSnapshotMeta } from './snapshot-disk.ts';
import { assertSameVolumes, restoreVolumes, saveVolumes } from './snapshot-volumes.ts';

/** `base`: a diff's base, the id of the snapshot on this host whose memory it builds on. */
export type AgentSnapshot = VmmSnapshotInfo & { sizeBytes: number; base?: string | null };

/** Kept beside the disk during a restore, put back if the restore fails. */
const PRE_RESTORE_SUFFIX = '.pre-restore';

export function snapshotDir(ctx: VmContext, snapshotId: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(snapshotId))
    throw new HearthError('VALIDATION_FAILED', `"${snapshotId}" is not a snapshot id`);
  return join(ctx.o.dataDir, 'snapshots', snapshotId);
}

/**
 * Saves memory, devices and disk of a running or paused VM; it continues as it was. `disk`: the
 * root disk and volumes only (snapshot-disk.ts), which a stopped VM can have too; `volumes`, when
 * given, are the ones attached now. `diff`: only the memory changed since the VM's last snapshot
 * (where the VMM can), which the result names as its `base`.
 */
export function snapshotVm(
  ctx: VmContext,
  id: string,
  snapshotId: string,
  kind: 'memory' | 'disk' = 'memory',
  volumes?: string[],
  type: 'full' | 'diff' = 'full',
): Promise<AgentSnapshot> {
  const rec = ctx.need(id);
  return ctx.serial(rec, async () => {
    if (kind === 'disk') {
      if (type === 'diff') throw diffSnapshotRefused('disk', rec.spec.name, rec.spec.vmm);
      const dir = snapshotDir(ctx, snapshotId);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true, mode: 0o700 });
      return snapshotDisks(rec, ctx.o.dataDir, dir, volumes).catch(async (e: unknown) => {
        await rm(dir, { recursive: true, force: true });
        throw e;
      });
    }
    const inst = rec.instance;
    if (!inst || (rec.phase !== 'running' && rec.phase !== 'paused')) {
      throw new HearthError(
        'VM_INVALID_STATE',
        `VM ${id} is ${rec.phase}; only running or paused VMs can be snapshotted`,
        { detail: { state: rec.phase, action: 'snapshot', allowedFrom: ['running', 'paused'] } },
      );
    }
    if (!inst.snapshot)
      throw new HearthError('VM_INVALID_STATE', `the ${rec.spec.vmm} driver cannot snapshot`);
    const dir = snapshotDir(ctx, snapshotId);
    await rm(dir, { recursive: true, force: true });
    const withVolumes = (rec.spec.volumes ?? []).length > 0;
    // With volumes: the guest writes its page cache first (fs.sync, best effort), then the VM is
    // paused here, not only inside the VMM's snapshot, so the volume files are copied at the very
    // instant the memory was saved (decisions/0024).
    const pausedHere = withVolumes && rec.phase === 'running';
    if (pausedHere) {
      await flushGuestDisks(rec);
      await inst.pause();
    }
    try {
      const info = await inst.snapshot(dir, { type });
      const volumes = withVolumes
        ? await saveVolumes(
            ctx.o.dataDir,
            (rec.spec.volumes ?? []).map((v) => v.id),
            dir,
          )
        : [];
      // It holds the guest secret and password hashes, like spec.json: root only.
      await writeFile(
        join(dir, SNAPSHOT_META),
        JSON.stringify({ hasAgent: rec.hasAgent, spec: rec.spec, layout: SNAPSHOT_LAYOUT, volumes }) + '\n',
        { mode: 0o600 },
      );
      await chmod(dir, 0o700);
      if (rec.phase === 'running' && rec.guest?.info) {
        void rec.guest.request({ op: 'time.sync', unixMs: Date.now() }, 5000).catch(() => undefined);
      }
      const baseDir = diffBaseDir(info);
      return { ...info, sizeBytes: await snapshotSize(dir), base: baseDir ? basename(baseDir) : null };
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw e;
    } finally {
      if (pausedHere) await inst.resume();
    }
  });
}

/**
 * Runs `spec` from a snapshot: in place (the VM's current VMM is replaced) or as a new VM (a
 * clone: its own disk copy, TAP, address and name, applied inside the guest after restore).
 */
export function restoreVm(
  ctx: VmContext,
  spec: AgentVmSpec,
  snapshotId: string,
  start = true,
): Promise<AgentVmStatus> {
  const r = ctx.recordFor(spec);
  return ctx.serial(r, async () => {
    const dir = snapshotDir(ctx, snapshotId);
    const meta = await readSnapshotMeta(dir);
    if (!meta) throw new HearthError('SNAPSHOT_NOT_FOUND', `snapshot ${snapshotId} is not on this host`);
    // Disks only: no saved devices to match, the VM boots them cold (`start`) or stays stopped.
    if (meta.kind === 'disk') return restoreDisks(ctx, r, spec, dir, meta as DiskSnapshotMeta, start);
    assertLayout(meta);
    // Refuse what cannot load before touching the running VM.
    await assertLoadable(ctx.driverFor(spec), dir);
    assertSameVolumes(spec, meta.volumes ?? []);
    // The VM's own disk is set aside, not overwritten: a restore that fails gives it back.
    const disk = filesOf(r).disk;
    const kept = `${disk}${PRE_RESTORE_SUFFIX}`;
    const hadDisk = await exists(disk);
    if (r.instance) {
      await killExpected(ctx, r, { ignoreErrors: true });
      await ctx.releaseNet(r.spec);
    }
    r.spec = spec;
    const volumes = await restoreVolumes(ctx.o.dataDir, spec, dir, meta.volumes ?? []);
    if (hadDisk) await rename(disk, kept);
    // An imported VM's snapshot names the exported VM it was saved from (import-snapshot.ts).
    const source = meta.spec ?? (meta.importedFrom ? importedSource(spec, meta.importedFrom) : null);
    await bootVm(ctx, r, { dir, hasAgent: meta.hasAgent, source });
    if (r.phase === 'failed') await volumes.undo();
    else await volumes.commit();
    if (hadDisk) {
      if (r.phase === 'failed') {
        await rename(kept, disk);
        r.reason = `${r.reason ?? 'restoring failed'}\n(the VM's disk from before the restore was put back)`;
        await persist(r, 'failed');
      } else await rm(kept, { force: true });
    } else if (r.phase === 'failed') {
      // A clone that never ran: its copy of the snapshot's disk holds nothing of value.
      await rm(disk, { force: true });
    }
    return ctx.status(spec.id);
  });
}

/** Refused while a diff snapshot on this host builds on it: the diff holds only changed memory. */
export async function deleteSnapshot(ctx: VmContext, snapshotId: string): Promise<void> {
  const dir = snapshotDir(ctx, snapshotId);
  const dependents = await diffsBuiltOn(dirname(dir), dir);
  if (dependents.length) throw snapshotInUse(snapshotId, dependents);
  await rm(dir, { recursive: true, force: true });
}
