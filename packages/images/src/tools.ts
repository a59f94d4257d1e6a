import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildOnce, ensureBaseRootfs, recipeKey, BOOT_MARKER, type BuiltinArtifact } from './builtin.ts';

/**
 * Tool images: the base image plus a tool from Debian's archive, for the benchmarks
 * (`bench/net.ts` boots the iperf3 one). Built on first use and cached by recipe hash like the
 * runtimes, but not offered by the manager: a benchmark uploads the one it needs.
 */
export const TOOLS = {
  iperf3: {
    recipe: 'tool-iperf3.sh',
    description: "busybox base + Debian bookworm's iperf3 (.debs from the Debian archive)",
  },
} as const;

export async function ensureToolImage(name: keyof typeof TOOLS): Promise<BuiltinArtifact> {
  const tool = TOOLS[name];
  const base = await ensureBaseRootfs();
  const dir = await buildOnce(
    tool.recipe,
    await recipeKey(tool.recipe, base.key),
    ['rootfs.ext4', 'version'],
    [base.path],
  );
  const version = (await readFile(join(dir, 'version'), 'utf8')).trim();
  return {
    name: `tool-${name}`,
    kind: 'rootfs',
    format: 'ext4',
    path: join(dir, 'rootfs.ext4'),
    meta: { bootMarker: BOOT_MARKER, tool: name, version, description: tool.description },
  };
}
