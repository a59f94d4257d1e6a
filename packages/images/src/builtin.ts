import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const HASH_READ_BYTES = 4 << 20;
import { ensureGuestAgent } from './guest-agent.ts';
import { cacheDir, withBuildLock } from './cache.ts';
export const RECIPES = fileURLToPath(new URL('../../../images/recipes/', import.meta.url));

export interface BuiltinArtifact {
  name: string;
  kind: 'kernel' | 'initrd' | 'rootfs';
  format: string;
  path: string;
  meta: Record<string, unknown>;
}

async function installedCloudKernel(): Promise<string> {
  const versions = (await readdir('/lib/modules').catch(() => [] as string[])).filter((v) =>
    v.endsWith('-cloud-amd64'),
  );
  return versions.sort().pop() ?? 'none';
}

/** Cache key: the recipe text plus whatever host input it consumes. */
export async function recipeKey(recipe: string, extra: string): Promise<string> {
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
export async function buildOnce(
  recipe: string,
  key: string,
  outputs: string[],
  args: string[] = [],
): Promise<string> {
  const dir = join(cacheDir(), `${recipe.replace(/\.sh$/, '')}-${key}`);
  const built = async () => (await Promise.all(outputs.map((o) => exists(join(dir, o))))).every(Boolean);
  if (await built()) return dir;
  await mkdir(cacheDir(), { recursive: true });
  // Another setup may be building the same artefact: wait for it, then use what it built.
  return withBuildLock(dir, async () => ((await built()) ? dir : build(recipe, dir, args)));
}

async function build(recipe: string, dir: string, args: string[]): Promise<string> {
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  try {
    await run('bash', [join(RECIPES, recipe), tmp, ...args], { maxBuffer: 16 * 1024 * 1024 });
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    const err = e as { stderr?: string; message: string };
    throw new Error(`Building the built-in image ${recipe} failed: ${err.stderr?.trim() || err.message}`);
  }
  return dir;
}

/** The busybox base rootfs with the current guest agent; its key also keys the runtimes built on it. */
export async function ensureBaseRootfs(): Promise<{ path: string; key: string; agentKey: string }> {
  const agent = await ensureGuestAgent();
  const key = await recipeKey('base-rootfs.sh', agent.key);
  const dir = await buildOnce('base-rootfs.sh', key, ['rootfs.ext4'], [agent.path]);
  return { path: join(dir, 'rootfs.ext4'), key, agentKey: agent.key };
}

export const BOOT_MARKER = 'hearth-guest: booted';

/** The kernel command line every guest kernel boots with (a VM's own parameters are added to it). */
export const BASE_CMDLINE = 'console=ttyS0 root=/dev/vda rw quiet panic=-1 pci=off';

async function sourceTarball(): Promise<string> {
  const files = (await readdir('/usr/src').catch(() => [] as string[])).filter((f) =>
    /^linux-source-6\.1\.tar\./.test(f),
  );
  if (!files[0]) return 'none';
  const s = await stat(join('/usr/src', files[0]));
  return `${files[0]}:${s.size}`;
}

/**
 * Builds (or finds in the cache) the default images: a microVM kernel compiled from Debian's
 * linux-source-6.1 (uncompressed vmlinux, PVH entry, no initramfs), the base rootfs, and as a
 * fallback Debian's cloud kernel with a small initramfs (docs/decisions/0002).
 */
export async function ensureBuiltinImages(
  warn: (msg: string) => void = () => undefined,
): Promise<BuiltinArtifact[]> {
  const kver = await installedCloudKernel();
  const kdir = await buildOnce('kernel.sh', await recipeKey('kernel.sh', kver), ['vmlinuz', 'initrd.img']);
  const base = await ensureBaseRootfs();
  const debian: BuiltinArtifact = {
    name: 'kernel-debian',
    kind: 'kernel',
    format: 'bzImage',
    path: join(kdir, 'vmlinuz'),
    meta: {
      version: kver,
      cmdline: BASE_CMDLINE,
      initrd: 'initrd-debian',
      description: "Debian's cloud kernel with a module-loading initramfs",
    },
  };
  let microvm: BuiltinArtifact;
  try {
    const fragment = await readFile(join(RECIPES, 'microvm.config'), 'utf8');
    const mdir = await buildOnce(
      'kernel-microvm.sh',
      await recipeKey('kernel-microvm.sh', fragment + (await sourceTarball())),
      ['vmlinux'],
    );
    microvm = {
      name: 'kernel-default',
      kind: 'kernel',
      format: 'elf',
      path: join(mdir, 'vmlinux'),
      meta: {
        version: (await readFile(join(mdir, 'version'), 'utf8').catch(() => '')).trim(),
        cmdline: BASE_CMDLINE,
        description: 'microVM kernel (linux-source-6.1 + microvm.config)',
      },
    };
  } catch (e) {
    // A host without linux-source still boots VMs, just more slowly (docs/decisions/0002).
    warn(`${(e as Error).message.split('\n')[0]}; using Debian's cloud kernel as the default`);
    microvm = { ...debian, name: 'kernel-default' };
  }
  return [
    microvm,
    debian,
    { name: 'initrd-debian', kind: 'initrd', format: 'cpio.gz', path: join(kdir, 'initrd.img'), meta: {} },
    {
      name: 'base',
      kind: 'rootfs',
      format: 'ext4',
      path: base.path,
      meta: {
        bootMarker: BOOT_MARKER,
        guestAgent: base.agentKey,
        description: 'busybox with the Hearth guest agent, serial login and ACPI shutdown',
      },
    },
  ];
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  const fh = await open(path, 'r');
  try {
    // Large reads: each one waits for a thread-pool thread and then the event loop, and on a busy
    // machine those waits, not the hashing, made a 400 MiB image take many minutes at 64 KiB each.
    // One buffer, reused: a stream would allocate one per read, and in a long-running agent those
    // megabyte buffers, freed only at the next collection, pile up in (and stay in) malloc's heap.
    const buf = Buffer.allocUnsafe(HASH_READ_BYTES);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}
