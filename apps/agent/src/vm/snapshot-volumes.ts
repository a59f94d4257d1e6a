import { execFile } from 'node:child_process';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HearthError, type AgentVmSpec } from '@hearth/contract';
import { volumePath } from '../volumes.ts';
import { exists } from './record.ts';

const run = promisify(execFile);

/**
 * Volume copies sit flat in the snapshot directory beside the VMM's own files, so the snapshot's
 * size (`snapshotSize`, one readdir) and its deletion (one rm) count and remove them too.
 */
export function snapshotVolumeFile(dir: string, volumeId: string): string {
  if (!/^vol_[A-Za-z0-9]+$/.test(volumeId))
    throw new HearthError('VALIDATION_FAILED', `"${volumeId}" is not a volume id`);
  return join(dir, `volume-${volumeId}.img`);
}

/** Sparse, reflinked where the filesystem can: a volume copy costs only its written blocks. */
async function copySparse(from: string, to: string): Promise<void> {
  await run('cp', ['--reflink=auto', '--sparse=always', from, to]);
}

/**
 * Copies the volumes `ids` into the snapshot directory. The caller has the VM paused (QEMU's
 * `stop` drains and flushes its block devices), so the copies and the saved memory describe the
 * same instant.
 */
export async function saveVolumes(dataDir: string, ids: string[], dir: string): Promise<string[]> {
  for (const id of ids) await copySparse(volumePath(dataDir, id), snapshotVolumeFile(dir, id));
  return ids;
}

/** A VMM loads saved devices only into the same ones: the same volumes, in the same order. */
export function assertSameVolumes(spec: AgentVmSpec, saved: string[]): void {
  const wanted = (spec.volumes ?? []).map((v) => v.id);
  if (wanted.length !== saved.length || wanted.some((id, i) => id !== saved[i])) {
    throw new HearthError(
      'SNAPSHOT_INCOMPATIBLE',
      `Loading the snapshot failed: it holds volumes [${saved.join(', ')}] and the VM has [${wanted.join(', ')}] attached; saved devices only load into the same volumes.`,
      { detail: { reason: 'volumes differ', saved, attached: wanted } },
    );
  }
}

/**
 * Before a restore in place boots: each volume of the snapshot replaces the VM's volume file,
 * the current one set aside (`.pre-restore`) so a failed restore can give it back (`undo`), or
 * dropped once the restore ran (`commit`). A volume the snapshot lacks is refused: the saved
 * devices would not match.
 */
export async function restoreVolumes(
  dataDir: string,
  spec: AgentVmSpec,
  dir: string,
  saved: string[],
): Promise<{ commit(): Promise<void>; undo(): Promise<void> }> {
  assertSameVolumes(spec, saved);
  const moved: { path: string; kept: string }[] = [];
  try {
    for (const id of saved) {
      const path = volumePath(dataDir, id);
      const kept = `${path}.pre-restore`;
      if (await exists(path)) {
        await rename(path, kept);
        moved.push({ path, kept });
      }
      await copySparse(snapshotVolumeFile(dir, id), path);
    }
  } catch (e) {
    await undo();
    throw e;
  }
  async function undo(): Promise<void> {
    for (const m of moved) {
      await rm(m.path, { force: true });
      await rename(m.kept, m.path);
    }
  }
  return {
    undo,
    async commit() {
      for (const m of moved) await rm(m.kept, { force: true });
    },
  };
}
