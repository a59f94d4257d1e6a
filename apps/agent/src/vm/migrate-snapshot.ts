import { fromIterable } from '@hearth/contract/streams';
import { chmod, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  HearthError,
  type AgentSnapshotSendResult,
  type AgentVmSpec,
  type AgentVmStatus,
} from '@hearth/contract';
import type { VmContext } from './context.ts';
import { deleteVm } from './lifecycle.ts';
import { exists } from './record.ts';
import { SNAPSHOT_LAYOUT, SNAPSHOT_META } from './restore-support.ts';
import { restoreVm, snapshotDir } from './snapshot.ts';
import { receiveChecked, describeSparse, encodeChecked } from './sparse-codec.ts';

/*
 * A running Firecracker VM moves by pause, snapshot, copy, load and resume (docs/migration.md §
 * Firecracker): not live, the guest stands still from the pause here until the destination
 * resumes it, the copy included. The snapshot lives with this host's snapshots under a name of
 * its own for each side, so a move between two agents sharing a data directory cannot mix them.
 */
const outgoing = (id: string) => `migrate-out-${id}`;
const incoming = (id: string) => `migrate-in-${id}`;
const FILE = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

function fileIn(dir: string, file: string): string {
  if (!FILE.test(file)) throw new HearthError('VALIDATION_FAILED', `"${file}" is not a snapshot file name`);
  return join(dir, file);
}

/**
 * Source: the guest paused (and left paused), a full snapshot written, every file described
 * (sparse size and sha256, read once). A failure resumes the guest and removes what was written.
 */
export function sendSnapshot(ctx: VmContext, id: string): Promise<AgentSnapshotSendResult> {
  const rec = ctx.need(id);
  return ctx.serial(rec, async () => {
    const inst = rec.instance;
    if (rec.phase !== 'running' || !inst?.snapshot || rec.spec.vmm !== 'firecracker') {
      throw new HearthError(
        'MIGRATION_UNSUPPORTED',
        `Moving VM ${id} by snapshot failed: it is ${rec.phase} on ${rec.spec.vmm}; this move needs a running Firecracker VM.`,
      );
    }
    if (rec.spec.volumes.length) {
      throw new HearthError(
        'MIGRATION_UNSUPPORTED',
        `Moving VM ${id} by snapshot failed: it has volumes attached; only the root disk moves so far.`,
      );
    }
    const dir = snapshotDir(ctx, outgoing(id));
    await rm(dir, { recursive: true, force: true });
    const log = ctx.log.child({ vm: id, migrate: 'snapshot' });
    await inst.pause();
    const pausedAt = Date.now();
    try {
      // Firecracker sees the VM paused already: the snapshot leaves it paused.
      await inst.snapshot(dir);
      // As a snapshot of this VM's (snapshot.ts): the destination restores it through the same path.
      await writeFile(
        join(dir, SNAPSHOT_META),
        JSON.stringify({ hasAgent: rec.hasAgent, spec: rec.spec, layout: SNAPSHOT_LAYOUT, volumes: [] }) +
          '\n',
        { mode: 0o600 },
      );
      await chmod(dir, 0o700);
      const files = [];
      for (const name of (await readdir(dir)).sort()) {
        files.push({ name, ...(await describeSparse(join(dir, name))) });
      }
      log.info(
        { files: files.map((f) => `${f.name}:${f.encodedBytes}`) },
        'paused and snapshotted for a move',
      );
      return { pausedAt, files };
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      await inst.resume();
      log.warn({ err: (e as Error).message }, 'snapshot for a move failed; the VM runs here again');
      throw new HearthError(
        'MIGRATION_FAILED',
        `Snapshotting VM ${id} for the move failed: ${(e as Error).message}`,
      );
    }
  });
}

/** Source: one file of the move's snapshot in the sparse encoding, checked against `sha256`. */
export async function snapshotFileStream(
  ctx: VmContext,
  id: string,
  file: string,
  expected: { sha256: string; encodedBytes: number },
): Promise<Readable> {
  ctx.need(id);
  const path = fileIn(snapshotDir(ctx, outgoing(id)), file);
  if (!(await exists(path)))
    throw new HearthError('SNAPSHOT_NOT_FOUND', `VM ${id} has no migration snapshot file ${file} here.`);
  return fromIterable(encodeChecked(path, { ...expected, sizeBytes: 0 }));
}

/** Source: the move given up before the destination resumed: the guest continues here. */
export function cancelSnapshotSend(ctx: VmContext, id: string): Promise<AgentVmStatus> {
  const rec = ctx.need(id);
  return ctx.serial(rec, async () => {
    await rm(snapshotDir(ctx, outgoing(id)), { recursive: true, force: true });
    const inst = rec.instance;
    if (inst && rec.phase === 'running' && (await inst.status()) === 'paused') {
      await inst.resume();
      // The guest's clock stood still while paused: set it from ours (best effort).
      if (rec.guest?.info)
        void rec.guest.request({ op: 'time.sync', unixMs: Date.now() }, 5000).catch(() => undefined);
    }
    return ctx.status(id);
  });
}

/** Source: the destination runs the guest; the move's snapshot goes (the VM is deleted next). */
export async function dropSnapshotSend(ctx: VmContext, id: string): Promise<void> {
  if (!FILE.test(id)) throw new HearthError('VALIDATION_FAILED', `"${id}" is not a VM id`);
  await rm(snapshotDir(ctx, outgoing(id)), { recursive: true, force: true });
}

/**
 * Destination: one file of the arriving snapshot, written beside and renamed once whole and
 * hashing to what the source announced; a VM this host has already is refused.
 */
export async function receiveSnapshotFile(
  ctx: VmContext,
  id: string,
  file: string,
  body: Readable,
  o: { sizeBytes: number; sha256: string },
): Promise<{ sha256: string; encodedBytes: number }> {
  if (!FILE.test(id)) throw new HearthError('VALIDATION_FAILED', `"${id}" is not a VM id`);
  if (ctx.vms.has(id) || (await exists(ctx.vmDir(id)))) {
    throw new HearthError('MIGRATION_FAILED', `Receiving VM ${id} failed: this host has that VM already.`);
  }
  const dir = snapshotDir(ctx, incoming(id));
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return receiveChecked(
    body,
    fileIn(dir, file),
    o,
    (actual) =>
      new HearthError(
        'MIGRATION_FAILED',
        `Receiving ${file} of VM ${id} failed: it hashes to ${actual}, the source announced ${o.sha256}.`,
        { detail: { file, expected: o.sha256, actual } },
      ),
  );
}

/**
 * Destination: a fresh Firecracker loads the received snapshot and resumes the guest, through
 * the snapshot restore (its own TAP of the same name and MAC, network_overrides naming it).
 * Answers once it runs (its guest-agent session open when it has one); a failure removes the
 * VM and the files.
 */
export async function restoreArrival(
  ctx: VmContext,
  spec: AgentVmSpec,
): Promise<AgentVmStatus & { resumedAt: number }> {
  if (ctx.vms.has(spec.id)) {
    throw new HearthError(
      'MIGRATION_FAILED',
      `Restoring VM ${spec.id} failed: this host has that VM already.`,
    );
  }
  const dir = snapshotDir(ctx, incoming(spec.id));
  try {
    if (!(await exists(join(dir, SNAPSHOT_META))))
      throw new Error('the snapshot did not arrive whole on this host');
    const st = await restoreVm(ctx, spec, incoming(spec.id));
    const resumedAt = Date.now();
    if (st.phase !== 'running') throw new Error(st.reason ?? `it is ${st.phase}`);
    await rm(dir, { recursive: true, force: true });
    return { ...st, resumedAt };
  } catch (e) {
    await abortArrival(ctx, spec.id).catch(() => undefined);
    if (e instanceof HearthError && e.code === 'MIGRATION_FAILED') throw e;
    throw new HearthError(
      'MIGRATION_FAILED',
      `Restoring VM ${spec.id} on this host failed: ${(e as Error).message}`,
    );
  }
}

/** Destination: the arriving files, and a VM restored from them, removed. */
export async function abortArrival(ctx: VmContext, id: string): Promise<void> {
  if (!FILE.test(id)) throw new HearthError('VALIDATION_FAILED', `"${id}" is not a VM id`);
  await rm(snapshotDir(ctx, incoming(id)), { recursive: true, force: true });
  await deleteVm(ctx, id);
}
