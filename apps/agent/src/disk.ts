import { execFile } from 'node:child_process';
import { stat, truncate } from 'node:fs/promises';
import { promisify } from 'node:util';
import { HearthError } from '@hearth/contract';

const run = promisify(execFile);

/**
 * Makes a disk: a sparse (or reflinked) copy of the image, grown to the requested size. Never a
 * full byte copy. With `growFs` the ext4 filesystem is grown to fill it here (the copy is of a
 * clean image no guest has written); without, the guest agent grows its mounted root online at
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
  try {
    // -f: the copy is of a clean image, so the usual "run e2fsck first" guard only costs time.
    await run('resize2fs', ['-f', target], { timeout: 60_000 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new HearthError(
      'VM_FAILED',
      `Growing the root filesystem failed: ${err.stderr?.trim() || err.message}`,
    );
  }
}
