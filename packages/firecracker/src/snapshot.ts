import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SNAPSHOT_INFO_FILE, type VmmSnapshotInfo, type VmmSnapshotOptions } from '@hearth/vmm';
import { diffRefusal } from '@hearth/contract';
import { runArgv } from './exec.ts';
import { copyKeepingHoles } from './extents.ts';
import type { FirecrackerInstance } from './instance.ts';
import { hostPath } from './layout.ts';

export const SNAPSHOT_FILES = {
  meta: SNAPSHOT_INFO_FILE,
  state: 'vmstate.snap',
  memory: 'memory.snap',
  disk: 'disk.raw',
} as const;

/** What a Firecracker restore needs beyond the common record. */
export interface FirecrackerSnapshotInfo extends VmmSnapshotInfo {
  firecracker: {
    /** Drive and vsock paths as Firecracker saw them: baked into the state file. */
    drivePath: string;
    vsockPath: string;
    hasNic: boolean;
    trackDirtyPages: boolean;
    snapshotFormat: number | null;
    /**
     * Diff snapshots only: the snapshot its memory pages were counted from (the last one this
     * Firecracker process took or was restored from). Its `createdAt` tells a replaced base.
     */
    base?: SnapshotBase | null;
  };
}

/** Where a diff snapshot's base lies, and which snapshot it was. */
export interface SnapshotBase {
  dir: string;
  vmId: string;
  createdAt: string;
}

/**
 * Snapshot format major per Firecracker minor release (Firecracker's snapshot versioning docs).
 * Only releases we know are listed; for others the Firecracker minor version itself must match.
 */
const SNAPSHOT_FORMAT: Record<string, number> = { '1.13': 8, '1.14': 8 };

export function snapshotFormatMajor(version: string): number | null {
  const minor = /^(\d+\.\d+)/.exec(version)?.[1];
  return minor ? (SNAPSHOT_FORMAT[minor] ?? null) : null;
}

/** Why a snapshot written by `recorded` cannot load on `current`, or null when it can. */
export function snapshotIncompatibility(recorded: string | null, current: string | null): string | null {
  if (!recorded) return 'the snapshot does not record which Firecracker version wrote it';
  if (!current) return "the version of this host's Firecracker is unknown";
  const a = snapshotFormatMajor(recorded);
  const b = snapshotFormatMajor(current);
  if (a !== null && b !== null) {
    return a === b
      ? null
      : `it was taken by Firecracker ${recorded} (snapshot format ${a}.x) and this host runs Firecracker ${current} (format ${b}.x); restore it on a host with a Firecracker of format ${a}.x`;
  }
  const minor = (v: string) => /^(\d+\.\d+)/.exec(v)?.[1];
  return minor(recorded) === minor(current)
    ? null
    : `it was taken by Firecracker ${recorded} and this host runs Firecracker ${current}; snapshot formats differ between Firecracker releases, so restore it on a host with Firecracker ${minor(recorded)}`;
}

/**
 * Moves a file Firecracker wrote into the snapshot directory (copy when on another filesystem;
 * `keepHoles` for a diff memory file, whose holes mean "the base's page").
 */
async function moveFile(src: string, dst: string, keepHoles = false): Promise<void> {
  try {
    await rename(src, dst);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    await (keepHoles ? copyKeepingHoles(src, dst) : copyFile(src, dst));
    await rm(src, { force: true });
  }
}

/** The directory of the snapshot a diff builds on; null for a full snapshot or another VMM's. */
export function diffBaseDir(info: VmmSnapshotInfo): string | null {
  return (info as Partial<FirecrackerSnapshotInfo>).firecracker?.base?.dir ?? null;
}

/**
 * The base a diff snapshot would build on: Firecracker counts dirty pages from the last snapshot
 * this process created or loaded, which the instance record keeps (`lastSnapshot`).
 */
async function diffBase(inst: FirecrackerInstance): Promise<SnapshotBase> {
  const fail = (why: string) =>
    diffRefusal(`Creating a diff snapshot failed: ${why}; take a full snapshot first`, 'firecracker', why);
  const last = inst.init.lastSnapshot;
  if (!last) {
    throw fail(
      'this Firecracker process has no snapshot a diff could build on (none taken or restored yet, or the last one failed after Firecracker had written its files)',
    );
  }
  const base = await readSnapshot(last).catch(() => null);
  if (!base) throw fail(`its base, the last snapshot ${last}, is gone`);
  if (base.vmId !== inst.init.vmId) {
    throw fail(
      `this VM was restored from a snapshot of VM ${base.vmId}, and a diff needs a base of its own VM`,
    );
  }
  return { dir: last, vmId: base.vmId, createdAt: base.createdAt };
}

/** A sparse (and, where the filesystem can, reflinked) copy: disks are mostly holes. */
export function copyDisk(src: string, dst: string): Promise<string> {
  return runArgv(['cp', '--sparse=always', '--reflink=auto', src, dst], 30 * 60_000);
}

/**
 * Pause, `PUT /snapshot/create`, copy the disk while still paused (Firecracker leaves disks out),
 * record the version, and resume only if the VM was running before.
 */
export async function createSnapshot(
  inst: FirecrackerInstance,
  dir: string,
  opts: VmmSnapshotOptions,
): Promise<FirecrackerSnapshotInfo> {
  const { init, api } = inst;
  const type = opts.type ?? 'full';
  if (type === 'diff' && !init.trackDirtyPages) {
    const why = 'this VM was started without dirty-page tracking (the host runs Firecracker with it off)';
    throw diffRefusal(`Creating a diff snapshot failed: ${why}`, 'firecracker', why);
  }
  if (!init.version) {
    // Restore checks the version that wrote a snapshot: one without it loads on no host.
    throw new Error(
      "Creating the snapshot failed: this VM's Firecracker version is unknown (`firecracker --version` did not answer when it was launched), and a snapshot without it could be restored on no host; stop and start the VM, then snapshot it",
    );
  }
  const base = type === 'diff' ? await diffBase(inst) : null;
  await mkdir(dir, { recursive: true });
  if (await stat(join(dir, SNAPSHOT_FILES.meta)).catch(() => null)) {
    throw new Error(`Creating the snapshot failed: ${dir} already holds one`);
  }
  const wasRunning = (await api.get<{ state: string }>('/')).state === 'Running';
  if (wasRunning) await api.patch('/vm', { state: 'Paused' });
  // Firecracker writes where it can (inside the jail when jailed); the files move out afterwards.
  const tag = `snap-${Date.now()}`;
  const fcState = `${tag}.vmstate`;
  const fcMem = `${tag}.mem`;
  let created = false;
  try {
    await api.put(
      '/snapshot/create',
      { snapshot_type: type === 'diff' ? 'Diff' : 'Full', snapshot_path: fcState, mem_file_path: fcMem },
      10 * 60_000,
    );
    created = true;
    await moveFile(hostPath(init.layout, fcState), join(dir, SNAPSHOT_FILES.state));
    await moveFile(hostPath(init.layout, fcMem), join(dir, SNAPSHOT_FILES.memory), type === 'diff');
    await copyDisk(init.diskPath, join(dir, SNAPSHOT_FILES.disk));
  } catch (e) {
    await Promise.all(
      [fcState, fcMem].map((f) => rm(hostPath(init.layout, f), { force: true }).catch(() => undefined)),
    );
    // Firecracker cleared its dirty-page record when it wrote the files: no later diff may build
    // on the previous snapshot, whose pages would be missing from it.
    if (created) await rememberSnapshot(inst, null).catch(() => undefined);
    throw new Error(`Creating the snapshot failed: ${(e as Error).message}`);
  } finally {
    if (wasRunning) await api.patch('/vm', { state: 'Resumed' });
  }
  const info: FirecrackerSnapshotInfo = {
    vmm: 'firecracker',
    vmmVersion: init.version ?? 'unknown',
    type,
    vmId: init.vmId,
    createdAt: new Date().toISOString(),
    files: { state: SNAPSHOT_FILES.state, memory: SNAPSHOT_FILES.memory, disk: SNAPSHOT_FILES.disk },
    firecracker: {
      drivePath: init.fcDrivePath,
      vsockPath: init.fcVsockPath,
      hasNic: init.hasNic,
      trackDirtyPages: init.trackDirtyPages,
      snapshotFormat: init.version ? snapshotFormatMajor(init.version) : null,
      ...(base ? { base } : {}),
    },
  };
  try {
    await writeFile(join(dir, SNAPSHOT_FILES.meta), JSON.stringify(info, null, 2) + '\n');
  } catch (e) {
    await rememberSnapshot(inst, null).catch(() => undefined);
    throw new Error(`Creating the snapshot failed: ${(e as Error).message}`);
  }
  await rememberSnapshot(inst, resolve(dir));
  return info;
}

/** Records the snapshot the next diff builds on, in the instance and its record (kept on adopt). */
async function rememberSnapshot(inst: FirecrackerInstance, dir: string | null): Promise<void> {
  inst.init.lastSnapshot = dir;
  const file = inst.init.layout.stateFile;
  const record = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  await writeFile(file, JSON.stringify({ ...record, lastSnapshot: dir }, null, 2) + '\n');
}

export async function readSnapshot(dir: string): Promise<FirecrackerSnapshotInfo> {
  const text = await readFile(join(dir, SNAPSHOT_FILES.meta), 'utf8').catch((e: Error) => {
    throw new Error(
      `Restoring the snapshot failed: cannot read ${join(dir, SNAPSHOT_FILES.meta)} (${e.message})`,
    );
  });
  const info = JSON.parse(text) as FirecrackerSnapshotInfo;
  if (info.vmm !== 'firecracker' || !info.firecracker) {
    throw new Error(`Restoring the snapshot failed: it was taken with ${info.vmm}, not Firecracker`);
  }
  return info;
}
