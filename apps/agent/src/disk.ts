import { execFile } from 'node:child_process';
import { stat, truncate } from 'node:fs/promises';
import { promisify } from 'node:util';
import { HearthError } from '@hearth/contract';

const run = promisify(execFile);

/**
 * Makes a VM's root disk: a sparse (or reflinked) copy of the image, grown to the requested
 * size, with the ext4 filesystem grown to fill it. Never a full byte copy.
 */
export async function prepareDisk(image: string, target: string, sizeBytes: number): Promise<void> {
  await run('cp', ['--reflink=auto', '--sparse=always', image, target]);
  const { size } = await stat(target);
  if (sizeBytes > size) {
    await truncate(target, sizeBytes);
    try {
      // -f: the copy is of a clean image, so the usual "run e2fsck first" guard only costs time.
      await run('resize2fs', ['-f', target]);
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new HearthError(
        'VM_FAILED',
        `Growing the root filesystem failed: ${err.stderr?.trim() || err.message}`,
      );
    }
  }
}
