import { execFile } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import * as tar from 'tar';
import { HearthError, type FunctionRuntime } from '@hearth/contract';
import { passThrough } from '@hearth/contract/streams';

const run = promisify(execFile);

/** What a folder may hold once unpacked: a bound on archives that expand a thousandfold. */
const UNPACKED_MAX = 512 * 1024 * 1024;
/** Source files kept with the version (for reading back), besides dependencies. */
const KEEP_FILE_MAX = 256 * 1024;
const KEEP_FILES = 100;

/** A version's code on the manager's disk while it builds. */
export interface StagedCode {
  dir: string;
  /** The text sources kept with the version record (dependencies and large files left out). */
  files: Record<string, string>;
  dispose(): Promise<void>;
}

const invalid = (entry: string, why: string) =>
  new HearthError('FUNCTION_ARCHIVE_INVALID', `Reading the function archive failed: ${entry} ${why}.`, {
    detail: { entry },
  });

/** Refuses an entry that would land outside the folder, or that is not a file, folder or inner link. */
function checkEntry(e: { path: string; type: string; linkpath?: string; size?: number }): void {
  const p = e.path.replace(/\/+$/, '');
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) throw invalid(e.path, 'is an absolute path');
  if (p.split('/').includes('..')) throw invalid(e.path, 'has a .. segment');
  if (e.type === 'SymbolicLink') {
    const target = e.linkpath ?? '';
    const resolved = posix.normalize(posix.join(posix.dirname(p), target));
    if (target.startsWith('/') || resolved === '..' || resolved.startsWith('../')) {
      throw invalid(e.path, `links out of the folder (to ${target})`);
    }
    return;
  }
  if (!['File', 'OldFile', 'ContiguousFile', 'Directory'].includes(e.type)) {
    throw invalid(e.path, `is a ${e.type} (only files, folders and links inside the folder are taken)`);
  }
}

/** Gives the whole archive to tar's parser (or unpacker) and waits until it is through. */
function feed(p: tar.Parser, bytes: Buffer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    p.on('error', reject);
    p.on('close', () => resolve());
    p.end(bytes);
  });
}

/** Lists the archive first: nothing is written unless every entry is acceptable. */
async function checkArchive(bytes: Buffer): Promise<void> {
  let total = 0;
  let failure: Error | null = null;
  const parser = new tar.Parser({
    strict: true,
    onReadEntry: (e) => {
      try {
        if (!failure) {
          checkEntry({ path: e.path, type: e.type, linkpath: e.linkpath, size: e.size });
          total += e.size ?? 0;
          if (total > UNPACKED_MAX) throw invalid(e.path, `takes the folder past ${UNPACKED_MAX >> 20} MiB`);
        }
      } catch (err) {
        failure = err as Error;
      }
      e.resume();
    },
  });
  try {
    await feed(parser, bytes);
  } catch (e) {
    throw new HearthError(
      'FUNCTION_ARCHIVE_INVALID',
      `Reading the function archive failed: it is not a .tar.gz or .tar (${(e as Error).message}).`,
      { detail: { entry: null } },
    );
  }
  if (failure) throw failure;
}

/** The text sources under `dir` worth keeping with the version (not node_modules, not large). */
async function sources(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string): Promise<void> => {
    for (const d of await readdir(join(dir, rel), { withFileTypes: true })) {
      if (Object.keys(out).length >= KEEP_FILES) return;
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory() && d.name !== 'node_modules' && !d.name.startsWith('.')) await walk(r);
      else if (d.isFile() && (await lstat(join(dir, r))).size <= KEEP_FILE_MAX) {
        const text = await readFile(join(dir, r));
        if (!text.includes(0)) out[r] = text.toString('utf8');
      }
    }
  };
  await walk('');
  return out;
}

/** Writes inline files, or checks then unpacks an archive, into a fresh folder. */
export async function stageCode(code: {
  files?: Record<string, string> | undefined;
  archive?: string | undefined;
}): Promise<StagedCode> {
  const dir = await mkdtemp(join(tmpdir(), 'hearth-fn-'));
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    if (code.archive !== undefined) {
      const bytes = Buffer.from(code.archive, 'base64');
      await checkArchive(bytes);
      await feed(tar.x({ cwd: dir, strict: true }), bytes);
    } else {
      for (const [path, content] of Object.entries(code.files ?? {})) {
        await mkdir(dirname(join(dir, path)), { recursive: true });
        await writeFile(join(dir, path), content);
      }
    }
    return { dir, files: await sources(dir), dispose };
  } catch (e) {
    await dispose();
    throw e;
  }
}

/** Where npm fetches packages from: HEARTH_NPM_REGISTRY, else npm's own configuration. */
export interface NpmOptions {
  registry?: string | undefined;
}

/**
 * A node22 function's package.json dependencies, installed into its folder before it goes to
 * the guest: `npm ci` when a lockfile pins them, `npm install` otherwise. Install scripts never
 * run (they would run on the manager's host), and packages already in npm's cache are not
 * fetched again. Answers the end of npm's output, or throws with it.
 */
export async function installDependencies(
  runtime: FunctionRuntime,
  dir: string,
  opts: NpmOptions = {},
): Promise<string | null> {
  if (runtime !== 'node22') return null;
  let pkg: { dependencies?: Record<string, string> };
  try {
    pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as typeof pkg;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`package.json is not valid JSON: ${(e as Error).message}`);
  }
  if (!pkg.dependencies || Object.keys(pkg.dependencies).length === 0) return null;
  const locked = await lstat(join(dir, 'package-lock.json')).then(
    () => true,
    () => false,
  );
  const argv = [
    locked ? 'ci' : 'install',
    '--omit=dev',
    '--ignore-scripts',
    '--no-audit',
    '--no-fund',
    '--prefer-offline',
    '--no-update-notifier',
    ...(opts.registry ? [`--registry=${opts.registry}`] : []),
  ];
  try {
    const r = await run('npm', argv, { cwd: dir, timeout: 600_000, maxBuffer: 16 * 1024 * 1024 });
    return `${r.stdout}${r.stderr}`.trim().slice(-2000);
  } catch (e) {
    const err = e as Error & { stderr?: string; stdout?: string };
    const tail = `${err.stdout ?? ''}${err.stderr ?? err.message}`.trim().slice(-2000);
    throw new Error(`npm ${argv[0]} of the package.json dependencies failed:\n${tail}`);
  }
}

/** The folder as a tar stream (a Node Readable), for the guest agent to unpack into the function's folder. */
export function packFolder(dir: string): Readable {
  const out = passThrough();
  // tar's packer is an async iterable of chunks, not a Node stream: pipeline adapts it.
  const pack = tar.c({ cwd: dir, portable: true }, ['.']) as unknown as AsyncIterable<Buffer>;
  pipeline(pack, out).catch((e: Error) => out.destroy(e));
  return out;
}
