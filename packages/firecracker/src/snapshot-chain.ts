import { chown, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { copyExtents, dataExtents } from './extents.ts';
import {
  copyDisk,
  readSnapshot,
  SNAPSHOT_FILES,
  snapshotIncompatibility,
  type FirecrackerSnapshotInfo,
} from './snapshot.ts';

/** A snapshot directory and its record. */
export interface ChainLink {
  dir: string;
  info: FirecrackerSnapshotInfo;
}

/** A full snapshot and the diffs taken after it, oldest first; the last link is what is restored. */
export interface SnapshotChain {
  full: ChainLink;
  diffs: ChainLink[];
}

/** Longer chains are refused: each restore merges every link, so take a full snapshot instead. */
export const MAX_CHAIN = 64;

function refuse(why: string): Error {
  return new Error(`Restoring the snapshot failed: ${why}`);
}

/**
 * Follows a diff snapshot's base links down to the full snapshot it builds on, refusing with the
 * reason a chain that cannot be merged: a missing base, a base of another VM, a base replaced since
 * the diff was taken, a base from an incompatible Firecracker, a chain not ending at a full one.
 */
export async function resolveChain(dir: string, info: FirecrackerSnapshotInfo): Promise<SnapshotChain> {
  const diffs: ChainLink[] = [];
  const seen = new Set<string>();
  let link: ChainLink = { dir: resolve(dir), info };
  while (link.info.type === 'diff') {
    if (seen.has(link.dir) || diffs.length >= MAX_CHAIN) {
      throw refuse(
        `the chain of diff snapshots from ${dir} ${seen.has(link.dir) ? 'loops back to' : `is longer than ${MAX_CHAIN} links at`} ${link.dir}, so it does not end at a full snapshot`,
      );
    }
    seen.add(link.dir);
    diffs.unshift(link);
    const base = link.info.firecracker.base;
    if (!base) {
      throw refuse(
        `the diff snapshot ${link.dir} records no base snapshot, so its chain does not end at a full snapshot (it holds only the memory pages changed since an unknown snapshot)`,
      );
    }
    if (!(await stat(join(base.dir, SNAPSHOT_FILES.meta)).catch(() => null))) {
      throw refuse(
        `the base snapshot ${base.dir} of the diff snapshot ${link.dir} is missing; a diff holds only the memory pages changed since its base, so it cannot be restored without it`,
      );
    }
    const baseInfo = await readSnapshot(base.dir);
    if (baseInfo.vmId !== link.info.vmId) {
      throw refuse(
        `the base snapshot ${base.dir} of the diff snapshot ${link.dir} is of VM ${baseInfo.vmId}, not of ${link.info.vmId}: a diff merges only onto a snapshot of its own VM`,
      );
    }
    if (baseInfo.createdAt !== base.createdAt) {
      throw refuse(
        `the base snapshot ${base.dir} was taken at ${baseInfo.createdAt}, but the diff snapshot ${link.dir} was taken on one from ${base.createdAt}: the base was replaced`,
      );
    }
    const why = snapshotIncompatibility(baseInfo.vmmVersion, link.info.vmmVersion);
    if (why) {
      throw refuse(
        `the base snapshot ${base.dir} cannot be merged with the diff snapshot ${link.dir}: between them, ${why}`,
      );
    }
    link = { dir: resolve(base.dir), info: baseInfo };
  }
  return { full: link, diffs };
}

/**
 * Writes the memory of the chain's last link to `out`: a copy of the full snapshot's memory, then
 * each diff's data extents laid over it in the order they were taken (Firecracker's documented
 * rebase: a diff memory file is sparse, its holes mean "the base's page", and a page dirtied to
 * zeros is data). `owner`: chown the result (a jailed Firecracker's uid and gid).
 */
export async function mergeChainMemory(
  chain: SnapshotChain,
  out: string,
  owner: { uid: number; gid: number } | null = null,
): Promise<void> {
  await rm(out, { force: true });
  const baseMem = join(chain.full.dir, SNAPSHOT_FILES.memory);
  try {
    const { size } = await stat(baseMem);
    await copyDisk(baseMem, out);
    for (const d of chain.diffs) {
      const diffMem = join(d.dir, SNAPSHOT_FILES.memory);
      const { size: diffSize, extents } = await dataExtents(diffMem);
      if (diffSize !== size) {
        throw new Error(
          `the memory file of ${d.dir} is ${diffSize} bytes and its base's ${size}: the guest memory size differs`,
        );
      }
      await copyExtents(diffMem, out, extents);
    }
    if (owner) await chown(out, owner.uid, owner.gid);
  } catch (e) {
    await rm(out, { force: true });
    throw refuse(`merging the diff snapshots onto their base failed: ${(e as Error).message}`);
  }
}

/**
 * The snapshots in `root` (one directory each) whose record names `dir` as their diff base: while
 * any exists, deleting `dir` would leave them unrestorable.
 */
export async function diffsBuiltOn(root: string, dir: string): Promise<string[]> {
  const target = resolve(dir);
  const names = await readdir(root).catch(() => [] as string[]);
  const found: string[] = [];
  for (const name of names.sort()) {
    const text = await readFile(join(root, name, SNAPSHOT_FILES.meta), 'utf8').catch(() => null);
    if (!text) continue;
    try {
      const info = JSON.parse(text) as Partial<FirecrackerSnapshotInfo>;
      if (info.firecracker?.base && resolve(info.firecracker.base.dir) === target) found.push(name);
    } catch {
      // Not a record this check can read: it names no base.
    }
  }
  return found;
}
