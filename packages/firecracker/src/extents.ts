import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SRC = fileURLToPath(new URL('../extents/', import.meta.url));

/** A file's data extents as lseek(SEEK_DATA/SEEK_HOLE) reports them; holes are the gaps. */
export interface FileExtents {
  size: number;
  /** [offset, length], ascending, not overlapping. */
  extents: [number, number][];
}

let built: Promise<string> | null = null;

/**
 * The `hearth-extents` helper (packages/firecracker/extents), built on first use with the Go
 * toolchain the agent already needs for the guest agent, cached by the hash of its sources
 * (docs/decisions/0043).
 */
export function extentsHelper(): Promise<string> {
  built ??= buildHelper().catch((e: unknown) => {
    built = null;
    throw e;
  });
  return built;
}

async function buildHelper(): Promise<string> {
  const files = (await readdir(SRC)).filter((f) => f.endsWith('.go') || f === 'go.mod').sort();
  const h = createHash('sha256');
  for (const f of files)
    h.update(f)
      .update('\0')
      .update(await readFile(join(SRC, f)))
      .update('\0');
  const cache = process.env.HEARTH_CACHE_DIR ?? '/var/cache/hearth';
  const dir = join(cache, `extents-${h.digest('hex').slice(0, 16)}`);
  const path = join(dir, 'hearth-extents');
  if (await stat(path).catch(() => null)) return path;
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  const go = join(cache, 'go');
  try {
    await run('go', ['build', '-trimpath', '-o', tmp, '.'], {
      cwd: SRC,
      timeout: 5 * 60_000,
      env: {
        ...process.env,
        CGO_ENABLED: '0',
        GOPATH: process.env.GOPATH ?? join(go, 'path'),
        GOCACHE: process.env.GOCACHE ?? join(go, 'cache'),
        GOPROXY: 'off',
        GOFLAGS: '',
      },
    });
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    const err = e as { stderr?: string; message: string };
    throw new Error(
      `building the hearth-extents helper failed: ${err.stderr?.trim() || err.message} (is golang-go installed? run scripts/setup.sh)`,
    );
  }
  return path;
}

/** Where `path` holds data (a page written with zeros counts as data; never-written pages do not). */
export async function dataExtents(path: string): Promise<FileExtents> {
  const helper = await extentsHelper();
  let stdout: string;
  try {
    ({ stdout } = await run(helper, [path], { timeout: 60_000, maxBuffer: 256 * 1024 * 1024 }));
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`reading the data extents of ${path} failed: ${err.stderr?.trim() || err.message}`);
  }
  const [head, ...lines] = stdout.trim().split('\n');
  const size = Number(/^size (\d+)$/.exec(head ?? '')?.[1] ?? NaN);
  if (!Number.isSafeInteger(size)) throw new Error(`hearth-extents printed no size for ${path}`);
  const extents = lines.map((l) => l.split(' ').map(Number) as [number, number]);
  return { size, extents };
}

const CHUNK = 1024 * 1024;

/** Copies the bytes of `extents` from `src` to the same offsets of `dst` (an open file). */
export async function copyExtents(src: string, dst: string, extents: [number, number][]): Promise<void> {
  const [from, to] = [await open(src, 'r'), await open(dst, 'r+')];
  try {
    const buf = Buffer.alloc(CHUNK);
    for (const [offset, length] of extents) {
      for (let done = 0; done < length;) {
        const want = Math.min(CHUNK, length - done);
        const { bytesRead } = await from.read(buf, 0, want, offset + done);
        if (bytesRead === 0) throw new Error(`${src} ended at ${offset + done}, inside a data extent`);
        await to.write(buf, 0, bytesRead, offset + done);
        done += bytesRead;
      }
    }
  } finally {
    await Promise.all([from.close(), to.close()]);
  }
}

/**
 * Copies `src` to a new `dst` keeping its holes exactly where they are, and writing every data
 * extent, zeros included: a diff memory file copied any other way (`cp --sparse=always` makes
 * holes of zero pages; a plain copy fills holes) would merge wrongly.
 */
export async function copyKeepingHoles(src: string, dst: string): Promise<void> {
  const { size, extents } = await dataExtents(src);
  const fh = await open(dst, 'w', 0o600);
  try {
    await fh.truncate(size);
  } finally {
    await fh.close();
  }
  await copyExtents(src, dst, extents);
}
