import { posix } from 'node:path';
import type { FileStat } from '@hearth/contract';
import type { Guest } from './guest.ts';

/** filesystem.EntryInfo in protobuf's JSON form (int64 as a string, enums by name). */
export interface EntryInfoJson {
  name: string;
  type: 'FILE_TYPE_FILE' | 'FILE_TYPE_DIRECTORY' | 'FILE_TYPE_SYMLINK' | 'FILE_TYPE_UNSPECIFIED';
  path: string;
  size: string;
  mode: number;
  permissions: string;
  owner: string;
  group: string;
  modifiedTime?: string;
  symlinkTarget?: string;
  /** User metadata (`user.e2b.*` extended attributes), envd 0.6.2's. */
  metadata?: Record<string, string>;
}

const TYPES: Record<FileStat['type'], EntryInfoJson['type']> = {
  file: 'FILE_TYPE_FILE',
  dir: 'FILE_TYPE_DIRECTORY',
  symlink: 'FILE_TYPE_SYMLINK',
  other: 'FILE_TYPE_UNSPECIFIED',
};

/**
 * The mode as Go's FileMode.String() prints it, which is what envd reports as `permissions`: a
 * letter per type and special bit (d, L, u, g, t; `-` when none), then rwx for the nine
 * permission bits.
 */
export function permissionString(type: FileStat['type'], mode: number): string {
  let head = '';
  if (type === 'dir') head += 'd';
  if (type === 'symlink') head += 'L';
  if (mode & 0o4000) head += 'u';
  if (mode & 0o2000) head += 'g';
  if (mode & 0o1000) head += 't';
  if (type === 'other') head += '?';
  let rwx = '';
  for (let i = 8; i >= 0; i--) rwx += mode & (1 << i) ? 'rwx'[(8 - i) % 3] : '-';
  return (head || '-') + rwx;
}

export function entryInfo(
  s: FileStat,
  owners: Map<string, { owner: string; group: string }>,
  path = s.path,
): EntryInfoJson {
  const own = owners.get(s.path);
  const out: EntryInfoJson = {
    name: path === '/' ? '/' : posix.basename(path),
    type: TYPES[s.type],
    path,
    size: String(s.size),
    mode: s.mode & 0o777,
    permissions: permissionString(s.type, s.mode),
    owner: own?.owner ?? '',
    group: own?.group ?? '',
  };
  if (s.mtime) out.modifiedTime = s.mtime;
  if (s.meta && Object.keys(s.meta).length) out.metadata = s.meta;
  // envd gives the link's target as an absolute path.
  if (s.type === 'symlink' && s.linkTarget !== undefined) {
    out.symlinkTarget = posix.resolve(posix.dirname(s.path), s.linkTarget);
  }
  return out;
}

/** One path's EntryInfo, owner names included. */
export async function statEntry(guest: Guest, path: string): Promise<EntryInfoJson> {
  const [s, owners] = await Promise.all([guest.stat(path), guest.owners([path])]);
  return entryInfo(s, owners);
}

/** EntryInfos of many stats, owner names fetched in one command. */
export async function entries(guest: Guest, stats: FileStat[]): Promise<EntryInfoJson[]> {
  const owners = stats.length ? await guest.owners(stats.map((s) => s.path)) : new Map();
  return stats.map((s) => entryInfo(s, owners));
}
