// Where the built `hearth` bundle lives and whether it still matches the sources. Shared by the bin
// (which runs the bundle when it is fresh) and scripts/build-bundles.mjs (which rebuilds it when not).
// Plain JavaScript with Node built-ins only: it runs before anything is compiled.
import { readFileSync, statSync } from 'node:fs';
import { rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { URL, fileURLToPath } from 'node:url';

/** The checkout this file belongs to. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Inside node_modules: the externals resolve from there, and a fresh `npm ci` drops stale builds. */
export function bundleRoot(root = ROOT) {
  return join(root, 'node_modules', '.cache', 'hearth-bundle');
}

/** node:crypto is loaded only when a file needs hashing: most starts hash nothing. */
export async function sha256(path) {
  const { createHash } = await import('node:crypto');
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Size, mtime and content hash of each input (paths relative to `root`), and a key over all contents. */
export async function describeInputs(root, rels) {
  const { createHash } = await import('node:crypto');
  const inputs = {};
  const key = createHash('sha256');
  for (const rel of [...new Set(rels)].sort()) {
    const path = join(root, rel);
    const st = await stat(path);
    const hash = await sha256(path);
    inputs[rel] = { size: st.size, mtimeMs: st.mtimeMs, sha256: hash };
    key.update(`${rel}\0${hash}\n`);
  }
  return { inputs, key: key.digest('hex').slice(0, 16) };
}

/** Makes `dir` the build in use; written then renamed, so a reader sees the old record or the new. */
export async function setCurrent(root, dir, inputs) {
  const current = join(bundleRoot(root), 'current.json');
  await writeFile(`${current}.${process.pid}`, JSON.stringify({ dir, inputs }) + '\n');
  await rename(`${current}.${process.pid}`, current);
}

/**
 * The entry file of the current build, or why it cannot be used. Every input outside node_modules
 * is checked by size and mtime, and by content only when those differ (a checkout that touched a
 * file without changing it keeps the build); node_modules is covered by the lockfile, an input too.
 */
export async function currentBundle(root = ROOT) {
  let current;
  try {
    current = JSON.parse(readFileSync(join(bundleRoot(root), 'current.json'), 'utf8'));
  } catch {
    return { entry: null, why: 'no bundle has been built' };
  }
  for (const [rel, want] of Object.entries(current.inputs)) {
    const path = join(root, rel);
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st) return { entry: null, why: `${rel} is gone` };
    if (st.size === want.size && st.mtimeMs === want.mtimeMs) continue;
    if (st.size !== want.size || (await sha256(path)) !== want.sha256) {
      return { entry: null, why: `${rel} changed since it was built` };
    }
  }
  return { entry: join(bundleRoot(root), current.dir, 'hearth.mjs'), why: null };
}
