import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { basename, join } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { x as untar, type ReadEntry } from 'tar';
import type { HearthClient } from '@hearth/sdk';
import { UsageError } from '../usage-error.ts';

/** Runs a local program with argv (tar), returning its stdout stream and completion. */
function tarCreate(args: string[]) {
  const child = spawn('tar', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar exited with ${code}`))));
  });
  return { stdout: child.stdout, done };
}

export async function upload(c: HearthClient, local: string, vm: string, path: string): Promise<void> {
  const s = await stat(local).catch(() => null);
  if (!s) throw new UsageError(`${local} does not exist.`);
  if (s.isDirectory()) {
    const t = tarCreate(['-C', local, '-cf', '-', '.']);
    const res = await c.raw(
      'uploadFile',
      { params: { id: vm }, query: { path, format: 'tar' } },
      { body: Readable.toWeb(t.stdout) as never, headers: { 'content-type': 'application/x-tar' } },
    );
    await t.done;
    await res.json();
    return;
  }
  const mode = (s.mode & 0o7777).toString(8).padStart(4, '0');
  const res = await c.raw(
    'uploadFile',
    { params: { id: vm }, query: { path, format: 'raw', mode } },
    {
      body: Readable.toWeb(createReadStream(local)) as never,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(s.size) },
    },
  );
  await res.json();
}

const KEPT = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);

/**
 * Unpacks a tar archive the guest made into `dest`, treating it as hostile: node-tar refuses
 * absolute names, `..` and writes through symlinks (in names and hard-link targets); owners are
 * never restored, and setuid/setgid/sticky bits, devices and FIFOs are dropped. A refused entry
 * fails the copy (`strict`), after the entries before it were written inside `dest`.
 */
export function extractTar(dest: string): Writable {
  return untar({
    cwd: dest,
    strict: true,
    preservePaths: false,
    preserveOwner: false,
    noMtime: false,
    filter: (_path: string, entry: ReadEntry | Stats) => {
      const e = entry as ReadEntry;
      if (!KEPT.has(e.type)) return false;
      if (typeof e.mode === 'number') e.mode &= 0o777;
      return true;
    },
  }) as unknown as Writable;
}

/**
 * Copies a guest path here. The client decides the format from the path's type and asks for it:
 * a directory comes as a tar archive (unpacked by extractTar), anything else as raw bytes written
 * to one file. What the reply says it is does not change that.
 */
export async function download(c: HearthClient, vm: string, path: string, local: string): Promise<void> {
  const info = await c.call('statFile', { params: { id: vm }, query: { path } });
  const format = info.type === 'dir' ? 'tar' : 'raw';
  const res = await c.raw('downloadFile', { params: { id: vm }, query: { path, format } });
  const body = Readable.fromWeb(res.body as never);
  if (format === 'tar') {
    await mkdir(local, { recursive: true });
    await pipeline(body, extractTar(local));
    return;
  }
  const target = (await stat(local).catch(() => null))?.isDirectory() ? join(local, basename(path)) : local;
  await pipeline(body, createWriteStream(target));
}
