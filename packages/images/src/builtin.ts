import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const RECIPES = fileURLToPath(new URL('../../../images/recipes/', import.meta.url));

export const DEFAULT_CACHE_DIR = '/var/cache/hearth';

export interface BuiltinArtifact {
  name: string;
  kind: 'kernel' | 'initrd' | 'rootfs';
  format: string;
  path: string;
  meta: Record<string, unknown>;
}

export function cacheDir(): string {
  return process.env.HEARTH_CACHE_DIR ?? DEFAULT_CACHE_DIR;
}

async function installedCloudKernel(): Promise<string> {
  const versions = (await readdir('/lib/modules').catch(() => [] as string[])).filter((v) =>
    v.endsWith('-cloud-amd64'),
  );
  return versions.sort().pop() ?? 'none';
}

/** Cache key: the recipe text plus whatever host input it consumes. */
async function recipeKey(recipe: string, extra: string): Promise<string> {
  const text = await readFile(join(RECIPES, recipe), 'utf8');
  return createHash('sha256').update(text).update('\0').update(extra).digest('hex').slice(0, 16);
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Runs a recipe into a temporary directory and renames it into place, so a half build never counts. */
async function buildOnce(recipe: string, key: string, outputs: string[]): Promise<string> {
  const dir = join(cacheDir(), `${recipe.replace(/\.sh$/, '')}-${key}`);
  if ((await Promise.all(outputs.map((o) => exists(join(dir, o))))).every(Boolean)) return dir;
  await mkdir(cacheDir(), { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  try {
    await run('bash', [join(RECIPES, recipe), tmp], { maxBuffer: 16 * 1024 * 1024 });
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    const err = e as { stderr?: string; message: string };
    throw new Error(`Building the built-in image ${recipe} failed: ${err.stderr?.trim() || err.message}`);
  }
  return dir;
}

export const BOOT_MARKER = 'hearth-guest: booted';

/** Builds (or finds in the cache) the default kernel, initrd and base rootfs. */
export async function ensureBuiltinImages(): Promise<BuiltinArtifact[]> {
  const kver = await installedCloudKernel();
  const kdir = await buildOnce('kernel.sh', await recipeKey('kernel.sh', kver), ['vmlinuz', 'initrd.img']);
  const rdir = await buildOnce('base-rootfs.sh', await recipeKey('base-rootfs.sh', ''), ['rootfs.ext4']);
  return [
    {
      name: 'kernel-default',
      kind: 'kernel',
      format: 'bzImage',
      path: join(kdir, 'vmlinuz'),
      meta: {
        version: kver,
        cmdline: 'console=ttyS0 root=/dev/vda rw quiet panic=-1 pci=off',
        initrd: 'initrd-default',
      },
    },
    { name: 'initrd-default', kind: 'initrd', format: 'cpio.gz', path: join(kdir, 'initrd.img'), meta: {} },
    {
      name: 'base',
      kind: 'rootfs',
      format: 'ext4',
      path: join(rdir, 'rootfs.ext4'),
      meta: { bootMarker: BOOT_MARKER, description: 'busybox with serial login and ACPI shutdown' },
    },
  ];
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}
