import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HearthError, type AgentVmSpec, type AgentVmStatus } from '@hearth/contract';
import { bootVm } from './boot/index.ts';
import type { VmContext } from './context.ts';
import { killExpected } from './expected-exit.ts';
import { flushGuestDisks } from './guest-access.ts';
import { exists, filesOf, persist, type VmRecord } from './record.ts';
import { snapshotSize, SNAPSHOT_META } from './restore-support.ts';
import { restoreVolumes, saveVolumes } from './snapshot-volumes.ts';
import type { AgentSnapshot } from './snapshot.ts';

const run = promisify(execFile);

/** The root disk's copy inside a disk-only snapshot directory, beside the volume copies. */
const DISK_FILE = 'disk.raw';
/** Whether that disk carries an injected guest agent (the run directory's disk-info file). */
const DISK_INFO_FILE = 'disk-info.json';

/** What SNAPSHOT_META holds for a disk-only snapshot: no VMM state, so no layout or VMM version. */
export interface DiskSnapshotMeta {
  kind: 'disk';
  hasAgent: boolean;
  spec: AgentVmSpec;
  volumes: string[];
}

async function copySparse(from: string, to: string): Promise<void> {
  await run('cp', ['--reflink=auto', '--sparse=always', from, to]);
}

/**
 * Copies the root disk and every volume of a VM, without memory or device state. A running VM
 * writes its page cache out first (the guest agent's fs.sync, best effort) and is paused for the
 * copy, so disk and volumes hold the same instant and what the guest had written; the copy is
 * what a power cut right after a sync would leave, which the journal makes clean at the next
 * boot. A stopped VM's files are copied as they are. The caller holds the VM's serial queue.
 * `attached`: the volume ids the manager has attached now (default: the host's spec).
 */
export async function snapshotDisks(
  rec: VmRecord,
  dataDir: string,
  dir: string,
  attached?: string[],
): Promise<AgentSnapshot> {
  const inst = rec.instance;
  const live = inst && (rec.phase === 'running' || rec.phase === 'paused');
  if (!live && rec.phase !== 'stopped') {
    throw new HearthError(
      'VM_INVALID_STATE',
      `VM ${rec.spec.id} is ${rec.phase}; a disk-only snapshot needs it running, paused or stopped`,
      { detail: { state: rec.phase, action: 'snapshot', allowedFrom: ['running', 'paused', 'stopped'] } },
    );
  }
  const files = filesOf(rec);
  if (!(await exists(files.disk)))
    throw new HearthError('VM_INVALID_STATE', `VM ${rec.spec.id} has no disk yet: it never booted`);
  const pausedHere = live && rec.phase === 'running';
  if (pausedHere) {
    await flushGuestDisks(rec);
    await inst.pause();
  }
  try {
    await copySparse(files.disk, join(dir, DISK_FILE));
    if (await exists(files.diskInfo)) await copyFile(files.diskInfo, join(dir, DISK_INFO_FILE));
    // The manager's list when it gave one: a volume attached to or detached from a stopped VM is
    // in the host's spec only from its next start.
    const ids = attached ?? (rec.spec.volumes ?? []).map((v) => v.id);
    const volumes = await saveVolumes(dataDir, ids, dir);
    const meta: DiskSnapshotMeta = { kind: 'disk', hasAgent: rec.hasAgent, spec: rec.spec, volumes };
    // It holds the guest secret and password hashes, like spec.json: root only.
    await writeFile(join(dir, SNAPSHOT_META), JSON.stringify(meta) + '\n', { mode: 0o600 });
    await chmod(dir, 0o700);
  } finally {
    if (pausedHere) await inst.resume();
  }
  return {
    vmm: rec.spec.vmm,
    // No VMM state inside: any VMM version boots these disks.
    vmmVersion: '',
    type: 'full',
    vmId: rec.spec.id,
    createdAt: new Date().toISOString(),
    files: { state: '', memory: '', disk: DISK_FILE },
    sizeBytes: await snapshotSize(dir),
  };
}

/**
 * Puts a disk-only snapshot's disks under `spec` (its own VM, or a clone's new one) and, with
 * `start`, boots them cold. The VM's VMM, if one runs, is killed first: its state is what the
 * restore discards. The VM's current disk and volumes are set aside and given back if the boot
 * fails.
 */
export async function restoreDisks(
  ctx: VmContext,
  r: VmRecord,
  spec: AgentVmSpec,
  dir: string,
  meta: DiskSnapshotMeta,
  start: boolean,
): Promise<AgentVmStatus> {
  if (r.instance) {
    await killExpected(ctx, r, { ignoreErrors: true });
    await ctx.releaseNet(r.spec);
  }
  r.spec = spec;
  const files = filesOf(r);
  const kept = `${files.disk}.pre-restore`;
  const hadDisk = await exists(files.disk);
  const volumes = await restoreVolumes(ctx.o.dataDir, spec, dir, meta.volumes);
  try {
    // A clone's run directory does not exist yet.
    await mkdir(r.dir, { recursive: true });
    if (hadDisk) await rename(files.disk, kept);
    await copySparse(join(dir, DISK_FILE), files.disk);
    if (await exists(join(dir, DISK_INFO_FILE))) await copyFile(join(dir, DISK_INFO_FILE), files.diskInfo);
  } catch (e) {
    await volumes.undo();
    if (hadDisk) await rename(kept, files.disk).catch(() => undefined);
    throw e;
  }
  if (!start) {
    r.phase = 'stopped';
    r.reason = 'disks restored from a snapshot';
    r.startedAt = null;
    await persist(r, 'stopped');
  } else await bootVm(ctx, r);
  if (r.phase === 'failed') {
    await volumes.undo();
    if (hadDisk) {
      await rm(files.disk, { force: true });
      await rename(kept, files.disk);
      r.reason = `${r.reason ?? 'restoring failed'}\n(the VM's disks from before the restore were put back)`;
      await persist(r, 'failed');
    } else await rm(files.disk, { force: true });
  } else {
    await volumes.commit();
    if (hadDisk) await rm(kept, { force: true });
  }
  return ctx.status(spec.id);
}
