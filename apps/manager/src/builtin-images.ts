import { link, mkdir, stat, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cachedSha256, ensureBuiltinImages } from '@hearth/images';
import type { ImageStore } from './store/images.ts';

/**
 * Builds (or takes from the cache) the default kernel, initrd and base rootfs, copies them into
 * the content-addressed image store, and registers them. Hard links when the cache is on the same
 * filesystem, and each artifact's hash is remembered per build, so this costs nothing on a warm
 * machine.
 */
export async function registerBuiltinImages(
  dataDir: string,
  images: ImageStore,
  warn: (msg: string) => void,
): Promise<void> {
  const store = join(dataDir, 'images');
  await mkdir(store, { recursive: true });
  for (const a of await ensureBuiltinImages(warn)) {
    const sha = await cachedSha256(a.path);
    const target = join(store, `${sha}.${a.format.replace(/[^a-z0-9]/gi, '')}`);
    const have = await stat(target).catch(() => null);
    if (!have) await link(a.path, target).catch(() => copyFile(a.path, target));
    const size = (await stat(target)).size;
    await images.upsertByName({
      name: a.name,
      kind: a.kind,
      format: a.format,
      arch: 'x86_64',
      sizeBytes: size,
      sha256: sha,
      source: `builtin recipe (${a.path})`,
      path: target,
      builtin: true,
      meta: a.meta,
    });
  }
}
