import { fromIterable } from '@hearth/contract/streams';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { HearthError } from '@hearth/contract';
import type { VmContext } from './context.ts';
import { exists } from './record.ts';
import { SNAPSHOT_META } from './restore-support.ts';
import { snapshotDir } from './snapshot.ts';
import { receiveChecked, describeSparse, encodeChecked, type EncodedInfo } from './sparse-codec.ts';

/*
 * A stored snapshot copied to another host under the same id, for a stopped VM that moves with
 * its snapshots (docs/migration.md § Stopped VMs and their snapshots). The files arrive in a
 * directory of their own beside the snapshots and become the snapshot in one rename once all are
 * there: a copy cut short is never mistaken for the snapshot, and a file that fails to arrive
 * takes the whole arrival with it.
 */
const FILE = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;
const arriving = (snapshotId: string) => `arriving-${snapshotId}`;

/** Receives under way per host and snapshot: an abort waits for them (a cut stream ends late). */
const receiving = new WeakMap<VmContext, Map<string, Promise<unknown>>>();

function track<T>(ctx: VmContext, snapshotId: string, work: Promise<T>): Promise<T> {
  let m = receiving.get(ctx);
  if (!m) receiving.set(ctx, (m = new Map()));
  const all = Promise.allSettled([m.get(snapshotId), work]);
  m.set(snapshotId, all);
  void all.then(() => {
    if (m.get(snapshotId) === all) m.delete(snapshotId);
  });
  return work;
}

function fileIn(dir: string, file: string): string {
  if (!FILE.test(file) || file.endsWith('.part'))
    throw new HearthError('VALIDATION_FAILED', `"${file}" is not a snapshot file name`);
  return join(dir, file);
}

/** Every file of a snapshot stored here, described (sparse size and sha256, read once). */
export async function describeSnapshot(
  ctx: VmContext,
  snapshotId: string,
): Promise<{ files: (EncodedInfo & { name: string })[] }> {
  const dir = snapshotDir(ctx, snapshotId);
  if (!(await exists(join(dir, SNAPSHOT_META))))
    throw new HearthError('SNAPSHOT_NOT_FOUND', `Snapshot ${snapshotId} is not on this host.`);
  const files = [];
  for (const name of (await readdir(dir)).sort()) {
    if (!(await stat(join(dir, name))).isFile() || !FILE.test(name)) {
      throw new HearthError(
        'MIGRATION_UNSUPPORTED',
        `Snapshot ${snapshotId} holds "${name}", which is not a plain file: it cannot be copied to another host.`,
      );
    }
    files.push({ name, ...(await describeSparse(join(dir, name))) });
  }
  return { files };
}

/** One file of a snapshot stored here, in the sparse encoding, checked against `sha256`. */
export async function snapshotFileOut(
  ctx: VmContext,
  snapshotId: string,
  file: string,
  expected: { sha256: string; encodedBytes: number },
): Promise<Readable> {
  const path = fileIn(snapshotDir(ctx, snapshotId), file);
  if (!(await exists(path)))
    throw new HearthError('SNAPSHOT_NOT_FOUND', `Snapshot ${snapshotId} has no file ${file} on this host.`);
  return fromIterable(encodeChecked(path, { ...expected, sizeBytes: 0 }));
}

/**
 * One file of a snapshot arriving from another host, written beside and renamed once whole and
 * hashing to what the source announced; a snapshot this host has already is refused.
 */
export function snapshotFileIn(
  ctx: VmContext,
  snapshotId: string,
  file: string,
  body: Readable,
  o: { sizeBytes: number; sha256: string },
): Promise<{ sha256: string; encodedBytes: number }> {
  return track(ctx, snapshotId, receiveFile(ctx, snapshotId, file, body, o));
}

async function receiveFile(
  ctx: VmContext,
  snapshotId: string,
  file: string,
  body: Readable,
  o: { sizeBytes: number; sha256: string },
): Promise<{ sha256: string; encodedBytes: number }> {
  if (await exists(snapshotDir(ctx, snapshotId))) {
    throw new HearthError(
      'MIGRATION_FAILED',
      `Receiving snapshot ${snapshotId} failed: this host has that snapshot already.`,
    );
  }
  const dir = snapshotDir(ctx, arriving(snapshotId));
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    return await receiveChecked(
      body,
      fileIn(dir, file),
      o,
      (actual) =>
        new HearthError(
          'MIGRATION_FAILED',
          `Receiving ${file} of snapshot ${snapshotId} failed: it hashes to ${actual}, the source announced ${o.sha256}.`,
          { detail: { file, expected: o.sha256, actual } },
        ),
    );
  } catch (e) {
    // The whole arrival goes: the manager gives up the copy on any failure, and after a cut
    // stream it may not reach this host to say so at once.
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/** The arrived files become the snapshot, once every one of `files` is there. */
export async function commitArrival(ctx: VmContext, snapshotId: string, files: string[]): Promise<void> {
  const dir = snapshotDir(ctx, arriving(snapshotId));
  const missing = [];
  for (const f of files) if (!(await exists(fileIn(dir, f)))) missing.push(f);
  if (missing.length) {
    throw new HearthError(
      'MIGRATION_FAILED',
      `Receiving snapshot ${snapshotId} failed: ${missing.join(', ')} did not arrive.`,
    );
  }
  const final = snapshotDir(ctx, snapshotId);
  if (await exists(final)) {
    throw new HearthError(
      'MIGRATION_FAILED',
      `Receiving snapshot ${snapshotId} failed: this host has that snapshot already.`,
    );
  }
  await rename(dir, final);
}

/** The files of an arrival given up, removed once no file of it is still being written. */
export async function abortArrival(ctx: VmContext, snapshotId: string): Promise<void> {
  await receiving.get(ctx)?.get(snapshotId);
  await rm(snapshotDir(ctx, arriving(snapshotId)), { recursive: true, force: true });
}
