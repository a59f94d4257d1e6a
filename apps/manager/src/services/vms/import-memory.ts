import { fromIterable } from '@hearth/contract/streams';
import { createHash } from 'node:crypto';
import {
  HearthError,
  type NicRequest,
  type Vm,
  type VmArchiveFile,
  type VmArchiveManifest,
  type VmArchiveRestore,
} from '@hearth/contract';
import { vmFromRow, type HostRow, type VmRow } from '../../store/mappers.ts';
import { RESTORING, type VmContext } from './context.ts';
import { runRestore } from './restore.ts';
import { moveVm } from './transitions.ts';

/** The archive's memory member, read only when asked for (its size checked; its sha256 by sendMember). */
export type MemoryMember = () => Promise<AsyncIterable<Buffer>>;

/**
 * Whether the archive's saved memory can be loaded here: only with what version 2 records of its
 * devices (`memory.restore`), saved by QEMU, and for a VM started now. Otherwise the reason it
 * boots cold, said in its history.
 */
export function memoryPlan(
  m: VmArchiveManifest,
  start: boolean,
): { restore: VmArchiveRestore; reason: null } | { restore: null; reason: string | null } {
  if (!m.memory) return { restore: null, reason: null };
  const cold = (why: string) => ({ restore: null, reason: `its memory snapshot was not restored (${why})` });
  if (!m.memory.restore)
    return cold(`the archive is version ${m.version}, which does not record the saved devices`);
  if (m.memory.vmm !== 'qemu') return cold(`it was saved by ${m.memory.vmm}`);
  if (!start) return cold('the VM was imported without starting it');
  return { restore: m.memory.restore, reason: null };
}

/**
 * The NICs the saved guest has must all be there again, in order (its devices must match): one
 * goes on this installation's default network, as any import's; more go on networks of the
 * same names, which must exist here.
 */
export function networksFor(restore: VmArchiveRestore | null): NicRequest[] | undefined {
  if (!restore || restore.nics.length <= 1) return undefined;
  return restore.nics.map((n) => n.network);
}

/**
 * A member's bytes sent to the VM's host, hashed as they pass and checked against the manifest
 * (the agent checks what it wrote). A failure of the archive itself (cut short, malformed) ends
 * the body early but cleanly: the agent then refuses what it got, and the archive's failure is
 * the one reported; failing the request body instead would look like the host going away.
 */
export async function sendMember(
  ctx: VmContext,
  host: HostRow,
  call:
    | { route: 'importDisk'; query: { sizeBytes: number; hasAgent: 'true' | 'false'; sha256: string } }
    | { route: 'importMemory'; query: { sizeBytes: number; sha256: string } },
  vmId: string,
  file: VmArchiveFile,
  body: AsyncIterable<Buffer>,
): Promise<void> {
  const h = createHash('sha256');
  let sourceError: unknown = null;
  async function* hashed(): AsyncGenerator<Buffer> {
    try {
      for await (const c of body) {
        h.update(c);
        yield c;
      }
    } catch (e) {
      sourceError = e;
    }
  }
  const res = await ctx.agents
    .raw(host, call.route, { params: { id: vmId }, query: call.query } as never, {
      body: fromIterable(hashed()) as never,
      headers: { 'content-type': 'application/octet-stream' },
      stream: true,
    })
    .catch((e: unknown) => {
      throw sourceError ?? e;
    });
  await res.text();
  if (sourceError) throw sourceError;
  checkSum(file, h.digest('hex'));
}

/** An archive member whose bytes hash otherwise than its manifest entry says: refused. */
export function checkSum(file: VmArchiveFile, sum: string): void {
  if (sum === file.sha256) return;
  throw new HearthError(
    'VM_ARCHIVE_CHECKSUM_MISMATCH',
    `Importing failed: ${file.path} hashes to ${sum}, the manifest says ${file.sha256}; nothing was kept.`,
    { detail: { file: file.path, expected: file.sha256, actual: sum } },
  );
}

/**
 * The saved memory onto the VM's host, into a snapshot beside its imported disk. The host first
 * says whether its VMM can load it (version, device layout): if not, the answer is the reason
 * the VM boots cold instead and nothing is sent. Answers the snapshot's id otherwise.
 */
export async function receiveMemory(
  ctx: VmContext,
  host: HostRow,
  row: VmRow,
  m: VmArchiveManifest,
  restore: VmArchiveRestore,
  member: MemoryMember,
): Promise<{ snapshotId: string } | { reason: string }> {
  const memory = m.memory!;
  let snapshotId: string;
  try {
    ({ snapshotId } = await ctx.agents.call(host, 'prepareImportSnapshot', {
      params: { id: row.id },
      body: {
        vmm: memory.vmm,
        vmmVersion: memory.vmmVersion,
        layout: restore.layout,
        hasAgent: restore.hasAgent,
        sourceId: m.source.id,
        sourceMacs: restore.nics.map((n) => n.mac),
      },
    }));
  } catch (e) {
    if (e instanceof HearthError && (e.code === 'SNAPSHOT_INCOMPATIBLE' || e.code === 'VMM_UNAVAILABLE'))
      return { reason: `its memory snapshot was not restored: ${e.message}` };
    throw e;
  }
  const file = m.files.find((f) => f.path === memory.file)!;
  try {
    const body = await member();
    await sendMember(
      ctx,
      host,
      { route: 'importMemory', query: { sizeBytes: memory.sizeBytes, sha256: file.sha256 } },
      row.id,
      file,
      body,
    );
  } catch (e) {
    await ctx.agents.deleteSnapshot(host, snapshotId).catch(() => undefined);
    throw e;
  }
  return { snapshotId };
}

/**
 * The imported VM resumes from its saved memory as a clone of a snapshot does (its new MAC,
 * address and name applied inside the guest, its TAP on this installation's network); the
 * snapshot, made for this only, is removed once the restore ended either way.
 */
export async function resumeImported(
  ctx: VmContext,
  row: VmRow,
  host: HostRow,
  snapshotId: string,
  actor: string,
): Promise<Vm> {
  const moved = await moveVm(ctx, row, 'starting', actor, {
    desiredState: 'running',
    reason: `${RESTORING} saved with the archive`,
  });
  if (!moved) {
    await ctx.agents.deleteSnapshot(host, snapshotId).catch(() => undefined);
    throw new HearthError('VM_BUSY', `Cannot start VM "${row.name}": it changed state meanwhile.`);
  }
  ctx.operations.track(row.id, async () => {
    await runRestore(ctx, moved, snapshotId, actor);
    await ctx.agents
      .deleteSnapshot(host, snapshotId)
      .catch((e: unknown) => ctx.log.warn({ err: e, vm: row.id }, 'imported snapshot not deleted'));
  });
  return vmFromRow(moved);
}
