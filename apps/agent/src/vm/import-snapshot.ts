import { link, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  HearthError,
  type AgentExportInfo,
  type AgentImportSnapshotBody,
  type AgentVmSpec,
} from '@hearth/contract';
import { runDirPaths, SNAPSHOT_INFO_FILE, type VmmSnapshotInfo } from '@hearth/vmm';
import { nicsOf } from '../vm-net.ts';
import type { VmContext } from './context.ts';
import { exists } from './record.ts';
import {
  assertLayout,
  assertLoadable,
  readSnapshotMeta,
  SNAPSHOT_META,
  type ImportedFrom,
} from './restore-support.ts';
import { snapshotDir } from './snapshot.ts';
import { decodeSparse } from './sparse-codec.ts';

/** QEMU's names in a snapshot directory (packages/qemu migration.ts SNAPSHOT_FILES). */
const QEMU_FILES = { state: 'vmstate.bin', memory: 'vmstate.bin', disk: 'disk.raw' } as const;

/** The snapshot an imported VM resumes from: one per VM, named after it. */
export const importSnapshotId = (vmId: string): string => `import-${vmId}`;

function runDir(ctx: VmContext, id: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new HearthError('VALIDATION_FAILED', `"${id}" is not a VM id`);
  return ctx.vmDir(id);
}

/**
 * What a snapshot's memory loads into, for an export's manifest (VmArchiveRestore): null for
 * one that holds volumes (they do not travel) or predates recorded layouts.
 */
export async function restoreInfoOf(dir: string): Promise<AgentExportInfo['restore']> {
  const meta = await readSnapshotMeta(dir);
  if (!meta?.spec || !meta.layout || (meta.volumes ?? []).length) return null;
  return {
    layout: meta.layout,
    hasAgent: meta.hasAgent,
    nics: nicsOf(meta.spec).map((n) => ({ mac: n.mac, network: n.network.name })),
  };
}

/**
 * The snapshot directory an imported VM with saved memory resumes from, described before any
 * byte arrives: what the memory was saved by (refused here if this host's VMM cannot load it or
 * its devices differ from ours) and who it was saved from (restore moves the guest's identity
 * off those MACs, as for a clone). The VM's disk must have been imported already.
 */
export async function prepareImportSnapshot(
  ctx: VmContext,
  id: string,
  o: AgentImportSnapshotBody,
): Promise<{ snapshotId: string }> {
  const disk = runDirPaths(runDir(ctx, id)).disk;
  if (ctx.vms.has(id) || !(await exists(disk))) {
    throw new HearthError(
      'VM_INVALID_STATE',
      `Importing the memory of VM ${id} failed: its disk is not imported on this host, or the VM runs here already.`,
    );
  }
  if (o.vmm !== 'qemu') {
    throw new HearthError(
      'SNAPSHOT_INCOMPATIBLE',
      `Importing the memory of VM ${id} failed: it was saved by ${o.vmm}; only QEMU's saved memory is imported.`,
    );
  }
  assertLayout(o);
  const snapshotId = importSnapshotId(id);
  const dir = snapshotDir(ctx, snapshotId);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    const info: VmmSnapshotInfo = {
      vmm: o.vmm,
      vmmVersion: o.vmmVersion,
      type: 'full',
      vmId: o.sourceId,
      createdAt: new Date().toISOString(),
      files: { ...QEMU_FILES },
    };
    await writeFile(join(dir, SNAPSHOT_INFO_FILE), JSON.stringify(info, null, 2) + '\n');
    const driver = ctx.o.drivers.find((d) => d.kind === o.vmm);
    if (!driver) throw new HearthError('VMM_UNAVAILABLE', `this host has no ${o.vmm} driver`);
    await assertLoadable(driver, dir);
    const importedFrom: ImportedFrom = { id: o.sourceId, macs: o.sourceMacs };
    await writeFile(
      join(dir, SNAPSHOT_META),
      JSON.stringify({ hasAgent: o.hasAgent, layout: o.layout, volumes: [], importedFrom }) + '\n',
      { mode: 0o600 },
    );
    return { snapshotId };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/**
 * The saved memory, decoded into the snapshot `prepareImportSnapshot` made and checked against
 * the manifest's sha256; the imported disk then appears beside it, as a second name of the same
 * file (a restore copies the snapshot's disk into the run directory, and puts the VM's own back
 * if it fails: the imported disk is then where a cold start boots it). Any failure removes the
 * snapshot.
 */
export async function importMemory(
  ctx: VmContext,
  id: string,
  body: Readable,
  o: { sizeBytes: number; sha256: string },
): Promise<{ sha256: string; encodedBytes: number }> {
  const dir = snapshotDir(ctx, importSnapshotId(id));
  if (!(await exists(join(dir, SNAPSHOT_META)))) {
    throw new HearthError(
      'SNAPSHOT_NOT_FOUND',
      `Importing the memory of VM ${id} failed: it was not prepared.`,
    );
  }
  try {
    const part = join(dir, `${QEMU_FILES.state}.part`);
    const got = await decodeSparse(body, part, o.sizeBytes);
    if (got.sha256 !== o.sha256) {
      throw new HearthError(
        'VM_ARCHIVE_CHECKSUM_MISMATCH',
        `Importing the memory of VM ${id} failed: it hashes to ${got.sha256}, the archive's manifest says ${o.sha256}.`,
        { detail: { file: 'memory', expected: o.sha256, actual: got.sha256 } },
      );
    }
    await rename(part, join(dir, QEMU_FILES.state));
    await link(runDirPaths(runDir(ctx, id)).disk, join(dir, QEMU_FILES.disk));
    return got;
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/**
 * The spec the imported guest was saved as, for adoptIdentity: this VM's, with the exported
 * VM's id and MACs (the guest finds its interfaces by the MACs it had).
 */
export function importedSource(spec: AgentVmSpec, from: ImportedFrom): AgentVmSpec {
  return {
    ...spec,
    id: from.id,
    nics: nicsOf(spec).map((n, i) => ({ ...n, mac: from.macs[i] ?? n.mac })),
  };
}
