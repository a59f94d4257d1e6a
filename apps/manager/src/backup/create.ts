import { spawn } from 'node:child_process';
import { copyFile, link, lstat, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { passThrough } from '@hearth/contract/streams';
import type { Db } from '../db/index.ts';
import type { AgentClient } from '../services/agent-client.ts';
import type { Stores } from '../store/index.ts';
import { filesDigest } from '../store/snapshots.ts';
import { hostChecksums } from './checksums.ts';
import { sha256File } from '@hearth/images';
import { MANIFEST, type BackupManifest } from './manifest.ts';

export interface BackupDeps {
  db: Db;
  stores: Stores;
  dataDir: string;
  /** Asks hosts for volume and snapshot sums; absent: they are listed without. */
  agents?: AgentClient | undefined;
}

/** Never archived: the database (dumped instead), images (by record), sockets and our own staging. */
const SKIPPED = new Set(['db', 'images', 'docker.sock']);
const STAGING_PREFIX = '.backup-';

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Small files the manager may rewrite (tokens, keys): copied, so tar never reads a changing file. */
async function copyTo(from: string, to: string): Promise<void> {
  await mkdir(join(to, '..'), { recursive: true });
  await copyFile(from, to);
}

/** A hard link where the filesystem allows (no bytes copied; images are never rewritten in place). */
async function place(from: string, to: string): Promise<void> {
  await mkdir(join(to, '..'), { recursive: true });
  await link(from, to).catch(() => copyFile(from, to));
}

/**
 * Streams a backup as a tar archive. The stream is returned at once, so the client has its status
 * and headers while the backup is staged (a database dump and links to every image can take tens of
 * seconds on a busy host); the archive bytes follow. A failure while staging or archiving ends the
 * stream with an error, never with a short archive that looks whole. The staging directory goes
 * when the stream ends, fails or is dropped by the client; onSettled runs once all work has stopped.
 */
export function createBackup(o: BackupDeps, onSettled: () => void = () => undefined): Readable {
  const out = passThrough();
  let stage: string | null = null;
  const cleanup = () => {
    if (stage) void rm(stage, { recursive: true, force: true });
    stage = null;
  };
  void (async () => {
    stage = await mkdtemp(join(o.dataDir, STAGING_PREFIX));
    await stageBackup(o, stage, () => out.destroyed);
    if (out.destroyed) return cleanup();
    await streamTar(stage, out);
  })()
    .catch((e: unknown) => out.destroy(e as Error))
    .finally(() => {
      cleanup();
      onSettled();
    });
  return out;
}

/** Pipes a tar of the staging directory (its manifest first) into out; resolves once tar is done. */
async function streamTar(stage: string, out: PassThrough): Promise<void> {
  // The manifest first, so a reader sees what to expect before the bulk.
  const tar = spawn(
    'tar',
    ['-cf', '-', '-C', stage, MANIFEST, ...(await readdir(stage)).filter((n) => n !== MANIFEST)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  tar.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => {
    tar.on('close', resolve);
    tar.on('error', (e) => {
      stderr += e.message;
      resolve(null);
    });
  });
  try {
    await pipeline(tar.stdout, out, { end: false });
    const code = await exited;
    if (code === 0 || onlyImageLinksTouched(code, stderr)) out.end();
    else out.destroy(new Error(`tar failed (${code}): ${stderr.trim()}`));
  } catch (e) {
    if (tar.exitCode === null) tar.kill();
    throw e;
  }
}

/**
 * Stages a backup: the database is dumped first; image files, immutable and content-addressed, are
 * then linked for every image the dump knows; the manifest lists and checksums it all. Stops early
 * (leaving the caller to remove the directory) once the client has gone.
 */
async function stageBackup(o: BackupDeps, stage: string, gone: () => boolean): Promise<void> {
  const dbFile = join('db', o.db.kind === 'pglite' ? 'pglite.tar' : 'postgres.dump');
  await mkdir(join(stage, 'db'), { recursive: true, mode: 0o700 });
  await o.db.dumpTo(join(stage, dbFile));
  if (gone()) return;

  // The manager's keys, tokens and agent CA: without them agents would not trust it again and
  // sealed secrets could not be read.
  for (const e of await readdir(o.dataDir, { withFileTypes: true })) {
    if (SKIPPED.has(e.name) || e.name.startsWith(STAGING_PREFIX)) continue;
    const from = join(o.dataDir, e.name);
    const st = await lstat(from);
    if (st.isDirectory()) {
      for (const f of await filesUnder(from)) await copyTo(f, join(stage, 'state', relative(o.dataDir, f)));
    } else if (st.isFile()) await copyTo(from, join(stage, 'state', e.name));
  }

  const images = await o.db.query<{
    id: string;
    name: string;
    sha256: string;
    size_bytes: number;
    path: string;
    status: string;
  }>('SELECT id, name, sha256, size_bytes, path, status FROM images ORDER BY id');
  const manifestImages: BackupManifest['images'] = [];
  const imagesDir = join(o.dataDir, 'images');
  for (const img of images) {
    const inStore = relative(imagesDir, img.path);
    // An image still importing has a file being written: tar would fail on it ("file changed
    // as we read it"), and it is no image yet. It is listed without a file.
    const ours = !inStore.startsWith('..') && !inStore.startsWith('/') && img.status === 'ready';
    const file = ours ? join('images', inStore) : null;
    if (file && !(await lstat(img.path).catch(() => null))) {
      throw new Error(`Backing up failed: image ${img.name} (${img.id}) has no file at ${img.path}`);
    }
    if (file) await place(img.path, join(stage, file)).catch(() => undefined);
    manifestImages.push({
      id: img.id,
      name: img.name,
      sha256: img.sha256,
      sizeBytes: Number(img.size_bytes),
      file,
    });
  }

  const volumes = await o.db.query<{
    id: string;
    name: string;
    host_id: string;
    vm_id: string | null;
    size_mib: number;
  }>('SELECT id, name, host_id, vm_id, size_mib FROM volumes ORDER BY id');
  const snaps = await o.db.query<{
    id: string;
    name: string;
    host_id: string;
    vm_id: string | null;
    size_bytes: number;
    volumes: string[];
    files: Record<string, string> | null;
    state: string;
  }>('SELECT id, name, host_id, vm_id, size_bytes, volumes, files, state FROM snapshots ORDER BY id');
  // Snapshots summed when they became ready cost nothing here; the rest and volumes are read now
  // by their hosts (a snapshot still being taken has no files to read yet).
  const sums = await hostChecksums(o, {
    volumes: volumes.map((v) => ({ id: v.id, host: v.host_id })),
    snapshots: snaps
      .filter((s) => !s.files && s.state === 'ready')
      .map((s) => ({ id: s.id, host: s.host_id })),
  });
  if (gone()) return;
  const [{ n: vms }] = (await o.db.query<{ n: number }>('SELECT count(*)::int AS n FROM vms')) as [
    { n: number },
  ];

  const files: BackupManifest['files'] = [];
  for (const f of await filesUnder(stage)) {
    if (gone()) return;
    files.push({ path: relative(stage, f), sha256: await sha256File(f), sizeBytes: (await lstat(f)).size });
  }
  const manifest: BackupManifest = {
    format: 'hearth-backup',
    version: 1,
    createdAt: new Date().toISOString(),
    dataDir: o.dataDir,
    database: { kind: o.db.kind, file: dbFile, sha256: files.find((f) => f.path === dbFile)!.sha256 },
    files,
    images: manifestImages,
    volumes: volumes.map((v) => ({
      id: v.id,
      name: v.name,
      host: v.host_id,
      vm: v.vm_id,
      sizeMib: v.size_mib,
      sha256: sums.volumes.get(v.id)?.sha256 ?? null,
      sha256Reason: sums.volumes.get(v.id)?.reason ?? 'not read',
    })),
    snapshots: snaps.map((s) => ({
      id: s.id,
      name: s.name,
      host: s.host_id,
      vm: s.vm_id,
      sizeBytes: Number(s.size_bytes),
      volumes: s.volumes ?? [],
      ...snapshotSums(s, sums.snapshots.get(s.id)),
    })),
    vms,
  };
  await writeFile(join(stage, MANIFEST), JSON.stringify(manifest, null, 2) + '\n', { mode: 0o600 });
}

function snapshotSums(
  s: { files: Record<string, string> | null; state: string },
  asked: { files: Record<string, string> | null; reason: string | null } | undefined,
): { sha256: string | null; files: Record<string, string> | null; sha256Reason: string | null } {
  const files = s.files ?? asked?.files ?? null;
  const reason = files ? null : (asked?.reason ?? `the snapshot is ${s.state}`);
  return { sha256: filesDigest(files), files, sha256Reason: reason };
}

/**
 * GNU tar exits 1 with "file changed as we read it" when a file's ctime moves during the read. An
 * image file is linked into the staging directory from a content-addressed store whose files other
 * links (other managers' data directories on this machine, a cache) share: a link made or removed
 * elsewhere moves the ctime while the bytes never change (the manifest has their sha256). Only
 * that case is forgiven; any other complaint, or one about another file, fails the archive.
 */
export function onlyImageLinksTouched(code: number | null, stderr: string): boolean {
  const lines = stderr.split('\n').filter((l) => l.trim());
  return (
    code === 1 &&
    lines.length > 0 &&
    lines.every((l) => /^tar: images\/.+: file changed as we read it$/.test(l))
  );
}

export const backupFileName = (d = new Date()) =>
  `hearth-backup-${d.toISOString().replace(/[-:]/g, '').slice(0, 15)}.tar`;
