import { fromIterable } from '@hearth/contract/streams';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { HearthError, type AgentExportInfo } from '@hearth/contract';
import { runDirPaths } from '@hearth/vmm';
import type { VmContext } from './context.ts';
import { restoreInfoOf } from './import-snapshot.ts';
import { exists } from './record.ts';
import { volumePath } from '../volumes.ts';
import { snapshotDir } from './snapshot.ts';
import { decodeSparse, describeSparse, encodeChecked } from './sparse-codec.ts';

/** QEMU's names in a snapshot directory (packages/qemu migration.ts); Firecracker's differ. */
const SNAPSHOT_FILE = { disk: 'disk.raw', memory: 'vmstate.bin' } as const;
const ID = /^[A-Za-z0-9_-]+$/;

export interface ExportSource {
  file: 'disk' | 'memory' | 'volume';
  snapshot?: string | undefined;
  /** With `file: 'volume'`: which of the VM's volumes. */
  volume?: string | undefined;
}

function vmDirOf(ctx: VmContext, id: string): string {
  if (!ID.test(id)) throw new HearthError('VALIDATION_FAILED', `"${id}" is not a VM id`);
  return ctx.vmDir(id);
}

/**
 * The file an export reads: a snapshot's (immutable once taken), or the VM's own disk, which only
 * a VM that is not running may give (its guest would be writing it).
 */
async function sourcePath(ctx: VmContext, id: string, src: ExportSource): Promise<string> {
  if (src.snapshot) {
    if (src.file === 'volume')
      throw new HearthError(
        'VALIDATION_FAILED',
        "Exporting failed: a snapshot's volumes are not read one by one.",
      );
    const path = join(snapshotDir(ctx, src.snapshot), SNAPSHOT_FILE[src.file]);
    if (!(await exists(path))) {
      throw new HearthError(
        'SNAPSHOT_NOT_FOUND',
        `Exporting failed: snapshot ${src.snapshot} has no ${SNAPSHOT_FILE[src.file]} on this host.`,
      );
    }
    return path;
  }
  if (src.file === 'memory')
    throw new HearthError('VALIDATION_FAILED', 'Exporting failed: memory is read from a snapshot only.');
  const rec = ctx.vms.get(id);
  if (rec?.instance || (rec && rec.phase !== 'stopped' && rec.phase !== 'failed')) {
    throw new HearthError(
      'VM_INVALID_STATE',
      `Exporting VM ${id} failed: it is ${rec.phase}; stop it first.`,
      {
        detail: { state: rec.phase, action: 'export', allowedFrom: ['stopped'] },
      },
    );
  }
  if (src.file === 'volume') return volumeOf(ctx, src.volume);
  const disk = runDirPaths(vmDirOf(ctx, id)).disk;
  if (!(await exists(disk))) {
    throw new HearthError(
      'VM_INVALID_STATE',
      `Exporting VM ${id} failed: it has no disk on this host yet (a VM gets its disk when it first starts).`,
      { detail: { state: 'created', action: 'export', allowedFrom: ['stopped'] } },
    );
  }
  return disk;
}

/**
 * A volume's file, for a move of the stopped VM the manager attached it to. The agent's copy of
 * the spec may predate an attach made while the VM was stopped, so it is not the judge; a VMM
 * running with the volume is (its guest would be writing it).
 */
async function volumeOf(ctx: VmContext, volume: string | undefined): Promise<string> {
  if (!volume) throw new HearthError('VALIDATION_FAILED', 'Exporting failed: `file: volume` needs `volume`.');
  const user = [...ctx.vms.values()].find(
    (r) => r.instance && (r.spec.volumes ?? []).some((v) => v.id === volume),
  );
  if (user) {
    throw new HearthError(
      'VM_INVALID_STATE',
      `Exporting volume ${volume} failed: VM ${user.spec.id} runs with it; stop it first.`,
      { detail: { state: user.phase, action: 'export', allowedFrom: ['stopped'] } },
    );
  }
  const path = volumePath(ctx.o.dataDir, volume);
  if (!(await exists(path)))
    throw new HearthError('VOLUME_NOT_FOUND', `Exporting failed: volume ${volume} has no file on this host.`);
  return path;
}

async function hasAgentOf(ctx: VmContext, id: string): Promise<boolean> {
  const info = await readFile(runDirPaths(vmDirOf(ctx, id)).diskInfo, 'utf8')
    .then((s) => JSON.parse(s) as { hasAgent?: boolean })
    .catch(() => ({ hasAgent: true }));
  return info.hasAgent !== false;
}

export async function exportInfo(ctx: VmContext, id: string, src: ExportSource): Promise<AgentExportInfo> {
  const path = await sourcePath(ctx, id, src);
  const restore =
    src.file === 'memory' && src.snapshot ? await restoreInfoOf(snapshotDir(ctx, src.snapshot)) : undefined;
  return {
    ...(await describeSparse(path)),
    hasAgent: await hasAgentOf(ctx, id),
    ...(restore !== undefined ? { restore } : {}),
  };
}

export async function exportStream(
  ctx: VmContext,
  id: string,
  src: ExportSource & { sha256: string; encodedBytes: number },
): Promise<Readable> {
  const path = await sourcePath(ctx, id, src);
  return fromIterable(encodeChecked(path, { ...src, sizeBytes: 0 }));
}

/**
 * The root disk of a VM this host has not seen, written where its first start finds it (a disk
 * already there is booted as it is, never remade from the image), with the note that says
 * whether it carries the guest agent. Written beside and renamed once whole; any failure removes
 * the run directory it made.
 */
export async function importDisk(
  ctx: VmContext,
  id: string,
  body: Readable,
  o: { sizeBytes: number; hasAgent: boolean; sha256: string },
): Promise<{ sha256: string; encodedBytes: number }> {
  const dir = vmDirOf(ctx, id);
  if (ctx.vms.has(id) || (await exists(dir))) {
    throw new HearthError(
      'VM_INVALID_STATE',
      `Importing a disk for VM ${id} failed: this host has that VM already.`,
    );
  }
  const f = runDirPaths(dir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    const part = `${f.disk}.part`;
    const got = await decodeSparse(body, part, o.sizeBytes);
    if (got.sha256 !== o.sha256) {
      throw new HearthError(
        'VM_ARCHIVE_CHECKSUM_MISMATCH',
        `Importing the disk of VM ${id} failed: it hashes to ${got.sha256}, the archive's manifest says ${o.sha256}.`,
        { detail: { file: 'disk', expected: o.sha256, actual: got.sha256 } },
      );
    }
    await writeFile(f.diskInfo, JSON.stringify({ hasAgent: o.hasAgent, reason: null }) + '\n');
    await rename(part, f.disk);
    return got;
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
