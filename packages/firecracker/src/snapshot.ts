import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SNAPSHOT_INFO_FILE, type VmmSnapshotInfo, type VmmSnapshotOptions } from '@hearth/vmm';
import { runArgv } from './exec.ts';
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
  };
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

/** Moves a file Firecracker wrote into the snapshot directory (copy when on another filesystem). */
async function moveFile(src: string, dst: string): Promise<void> {
  try {
    await rename(src, dst);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    await copyFile(src, dst);
    await rm(src, { force: true });
  }
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
    throw new Error('Creating a diff snapshot failed: this VM was started without dirty-page tracking');
  }
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
  try {
    await api.put(
      '/snapshot/create',
      { snapshot_type: type === 'diff' ? 'Diff' : 'Full', snapshot_path: fcState, mem_file_path: fcMem },
      10 * 60_000,
    );
    await moveFile(hostPath(init.layout, fcState), join(dir, SNAPSHOT_FILES.state));
    await moveFile(hostPath(init.layout, fcMem), join(dir, SNAPSHOT_FILES.memory));
    await copyDisk(init.diskPath, join(dir, SNAPSHOT_FILES.disk));
  } catch (e) {
    await Promise.all(
      [fcState, fcMem].map((f) => rm(hostPath(init.layout, f), { force: true }).catch(() => undefined)),
    );
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
    },
  };
  await writeFile(join(dir, SNAPSHOT_FILES.meta), JSON.stringify(info, null, 2) + '\n');
  return info;
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
