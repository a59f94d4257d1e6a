import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { sha256File } from '@hearth/images';
import { injectAgent, type InjectResult } from './inject.ts';

const run = promisify(execFile);

/** An image ready to be the source of VM disks: the image itself, or our copy with the agent in it. */
export interface PreparedImage extends InjectResult {
  path: string;
}

const inFlight = new Map<string, Promise<PreparedImage>>();
const agentHashes = new Map<string, Promise<string>>();

/**
 * The prepared source for VM disks made from `image`: when the image lacks our guest agent, a
 * copy with it injected, made ONCE and cached under `cacheDir` by image identity + agent binary
 * hash + how the agent starts; otherwise the image itself. The decision is cached too, so later
 * creates run no filesystem tool at all. Only images (host-held, never written by a guest) are
 * read here.
 */
export async function preparedImage(
  cacheDir: string,
  image: string,
  agentBinary: string | null,
  opts: { asInit?: boolean } = {},
): Promise<PreparedImage> {
  const key = await keyOf(image, agentBinary, opts.asInit ?? false);
  let p = inFlight.get(key);
  if (!p) {
    p = prepare(cacheDir, key, image, agentBinary, opts).finally(() => inFlight.delete(key));
    inFlight.set(key, p);
  }
  return p;
}

async function prepare(
  cacheDir: string,
  key: string,
  image: string,
  agentBinary: string | null,
  opts: { asInit?: boolean },
): Promise<PreparedImage> {
  await mkdir(cacheDir, { recursive: true });
  const meta = join(cacheDir, `${key}.json`);
  const copy = join(cacheDir, `${key}.raw`);
  const known = await readFile(meta, 'utf8')
    .then((s) => JSON.parse(s) as PreparedImage)
    .catch(() => null);
  if (known && (!known.injected || (await stat(copy).catch(() => null)))) return known;
  const tmp = `${copy}.${process.pid}.tmp`;
  await run('cp', ['--reflink=auto', '--sparse=always', image, tmp]);
  try {
    const r = await injectAgent(tmp, agentBinary, opts);
    let out: PreparedImage;
    if (r.injected) {
      await rename(tmp, copy);
      out = { ...r, path: copy };
    } else {
      out = { ...r, path: image };
    }
    await writeFile(`${meta}.tmp`, JSON.stringify(out) + '\n');
    await rename(`${meta}.tmp`, meta);
    return out;
  } finally {
    await rm(tmp, { force: true });
  }
}

async function keyOf(image: string, agentBinary: string | null, asInit: boolean): Promise<string> {
  const s = await stat(image);
  const agent = agentBinary ? await agentHash(agentBinary) : 'none';
  return createHash('sha256')
    .update(JSON.stringify([image, s.size, s.mtimeMs, s.ino, agent, asInit]))
    .digest('hex')
    .slice(0, 32);
}

/** The agent binary's sha256, once per file version. */
async function agentHash(path: string): Promise<string> {
  const s = await stat(path);
  const k = `${path}:${s.size}:${s.mtimeMs}`;
  let p = agentHashes.get(k);
  if (!p) {
    p = sha256File(path);
    agentHashes.set(k, p);
  }
  return p;
}
