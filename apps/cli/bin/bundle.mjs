// Where the built `hearth` bundle lives and whether it still matches the sources. Shared by the bin
// (which runs the bundle when it is fresh) and scripts/build-bundles.mjs (which rebuilds it when not).
// Plain JavaScript with Node built-ins only: it runs before anything is compiled.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { URL, fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** Inside node_modules: the externals resolve from there, and a fresh `npm ci` drops stale builds. */
export const BUNDLE_ROOT = join(ROOT, 'node_modules', '.cache', 'hearth-bundle');
/** The build in use: `{ dir, inputs }`, replaced atomically by each build. */
export const CURRENT = join(BUNDLE_ROOT, 'current.json');

/** node:crypto is loaded only when a file needs hashing: most starts hash nothing. */
export async function sha256(path) {
  const { createHash } = await import('node:crypto');
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/**
 * The entry file of the current build, or why it cannot be used. Every input outside node_modules
 * is checked by size and mtime, and by content only when those differ (a checkout that touched a
 * file without changing it keeps the build); node_modules is covered by the lockfile, an input too.
 */
export async function currentBundle() {
  let current;
  try {
    current = JSON.parse(readFileSync(CURRENT, 'utf8'));
  } catch {
    return { entry: null, why: 'no bundle has been built' };
  }
  for (const [rel, want] of Object.entries(current.inputs)) {
    const path = join(ROOT, rel);
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st) return { entry: null, why: `${rel} is gone` };
    if (st.size === want.size && st.mtimeMs === want.mtimeMs) continue;
    if (st.size !== want.size || (await sha256(path)) !== want.sha256) {
      return { entry: null, why: `${rel} changed since it was built` };
    }
  }
  return { entry: join(BUNDLE_ROOT, current.dir, 'hearth.mjs'), why: null };
}
