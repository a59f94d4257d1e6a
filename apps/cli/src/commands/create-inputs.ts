import { readFile } from 'node:fs/promises';
import { canonicalRuntime, RUNTIMES, runtimeImageName } from '@hearth/contract';
import type { HearthClient } from '@hearth/sdk';
import { UsageError } from '../usage-error.ts';
import { importWithProgress } from './images.ts';

// What `hearth create` reads from files and flags before it asks: keys, user data, the rootfs.

/** --user-data FILE (or '-' for stdin): cloud-init user data, sent as it is. */
export async function readUserData(file: string): Promise<string> {
  try {
    return file === '-' ? await readStdin() : await readFile(file, 'utf8');
  } catch {
    throw new UsageError(`--user-data ${file} is not a readable file.`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** --ssh-key accepts key lines or paths to .pub files. */
export async function readKeys(items: string[]): Promise<string[]> {
  const keys: string[] = [];
  for (const item of items) {
    if (/^(ssh|ecdsa|sk)-/.test(item)) keys.push(item.trim());
    else {
      const text = await readFile(item, 'utf8').catch(() => {
        throw new UsageError(`--ssh-key ${item} is neither a public key line nor a readable file.`);
      });
      keys.push(
        ...text
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l && !l.startsWith('#')),
      );
    }
  }
  return keys;
}

/** --image, --runtime and --from-image name the rootfs; --from-image imports (or reuses) it first. */
export async function rootfsImage(
  c: HearthClient,
  o: Record<string, unknown>,
  quiet: boolean,
): Promise<string | undefined> {
  const given = ['image', 'runtime', 'fromImage'].filter((k) => o[k] !== undefined);
  if (given.length > 1) throw new UsageError('Pass only one of --image, --runtime and --from-image.');
  if (o.runtime !== undefined) {
    const asked = String(o.runtime);
    const rt = canonicalRuntime(asked);
    if (!rt) throw new UsageError(`--runtime ${asked} is unknown; use one of ${RUNTIMES.join(', ')}.`);
    const image = runtimeImageName(rt);
    if (rt === 'base') return image;
    const have = await c.call('getImage', { params: { id: image } }).catch(() => null);
    if (!have && !quiet)
      process.stderr.write(`  building the ${rt} runtime image (first use only; cached afterwards)\n`);
    return image;
  }
  if (o.fromImage !== undefined) {
    const { image } = await importWithProgress(c, { ref: String(o.fromImage), source: 'oci' }, quiet);
    return image.id;
  }
  const image = o.image as string | undefined;
  if (image !== undefined && /^debian-\d+$/.test(image) && !quiet) {
    const have = await c.call('getImage', { params: { id: image } }).catch(() => null);
    if (!have)
      process.stderr.write(
        `  building the ${image} image from Debian's packages (first use only, several minutes; cached afterwards)\n`,
      );
  }
  return image;
}
