import { execFile } from 'node:child_process';
import { stat, truncate } from 'node:fs/promises';
import { promisify } from 'node:util';
import { HearthError } from '@hearth/contract';
import { runOnUntrustedDisk } from '@hearth/images';

const run = promisify(execFile);

/**
 * Makes a disk: a sparse (or reflinked) copy of the image, grown to the requested size. Never a
 * full byte copy. With `growFs` the ext4 filesystem is grown to fill it here (the copy is of an
 * image no guest has written, but maybe one a registry or a URL supplied, so resize2fs runs
 * unprivileged on a descriptor with a deadline); without, the guest agent grows its mounted root online at
 * boot, so creating a VM runs no filesystem tool at all.
 */
export async function prepareDisk(
  image: string,
  target: string,
  sizeBytes: number,
  opts: { growFs?: boolean } = {},
): Promise<void> {
  await run('cp', ['--reflink=auto', '--sparse=always', image, target]);
  const { size } = await stat(target);
  if (sizeBytes <= size) return;
  await truncate(target, sizeBytes);
  if (opts.growFs === false) return;
  // -f: the copy is of an image no guest has booted, so the usual "run e2fsck first" guard only costs time.
  const r = await runOnUntrustedDisk(target, (dev) => ['resize2fs', '-f', dev], { timeoutMs: 60_000 });
  if (r.code !== 0 || r.timedOut) {
    throw new HearthError(
      'VM_FAILED',
      `Growing the root filesystem failed: ${r.timedOut ? 'resize2fs took too long' : r.stderr.trim()}`,
    );
  }
}
