import { execFile } from 'node:child_process';
import { mkdir, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { agentRoutes, HearthError } from '@hearth/contract';
import { runOnUntrustedDisk } from '@hearth/images';
import { prepareDisk } from './disk.ts';
import { serve } from './http.ts';
import { receiveChecked } from './vm/sparse-codec.ts';

const run = promisify(execFile);

export function volumePath(dataDir: string, id: string): string {
  if (!/^vol_[A-Za-z0-9]+$/.test(id))
    throw new HearthError(
      'VALIDATION_FAILED',
      `Finding the volume's file failed: "${id}" is not a volume id.`,
    );
  return join(dataDir, 'volumes', `${id}.img`);
}

async function tool(cmd: string, args: string[], what: string): Promise<void> {
  try {
    await run(cmd, args);
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${what} failed: ${err.stderr?.trim() || err.message}`);
  }
}

/** Volume files on this host: sparse, made with mke2fs or copied from an image, grown in place. */
export function volumeRoutes(app: FastifyInstance, dataDir: string): void {
  serve(app, agentRoutes.createVolume, async ({ params: { id }, body: b }) => {
    const path = volumePath(dataDir, id);
    await mkdir(join(dataDir, 'volumes'), { recursive: true, mode: 0o700 });
    try {
      if (b.imagePath) await prepareDisk(b.imagePath, path, b.sizeMib * 2 ** 20);
      else {
        await rm(path, { force: true });
        await run('truncate', ['-s', `${b.sizeMib}M`, path]);
        if (b.format === 'ext4')
          await tool(
            'mke2fs',
            ['-q', '-F', '-t', 'ext4', '-L', id.slice(-16), path],
            'Making the filesystem',
          );
      }
    } catch (e) {
      await rm(path, { force: true });
      throw e;
    }
    return { id, path };
  });

  serve(app, agentRoutes.resizeVolume, async ({ params: { id }, body: b }) => {
    const path = volumePath(dataDir, id);
    const s = await stat(path).catch(() => null);
    if (!s)
      throw new HearthError('VOLUME_NOT_FOUND', `Resizing volume ${id} failed: it has no file on this host.`);
    if (b.sizeMib * 2 ** 20 < s.size)
      throw new HearthError('VALIDATION_FAILED', `Resizing volume ${id} failed: volumes only grow.`);
    await truncate(path, b.sizeMib * 2 ** 20);
    if (b.format === 'ext4') {
      // A guest wrote this filesystem: the tools run as nobody, on a descriptor, with a deadline.
      // The VM is stopped, but it may have been killed: check before growing.
      const fsck = await runOnUntrustedDisk(path, (dev) => ['e2fsck', '-p', '-f', dev]);
      // 0: clean, 1: errors fixed (bit 2, "reboot", means nothing for a file); 4 and up: not fixed.
      if (fsck.timedOut || fsck.code === null || fsck.code >= 4) {
        throw new HearthError(
          'VALIDATION_FAILED',
          `Resizing volume ${id} failed: its filesystem ${fsck.timedOut ? 'took too long to check' : 'has errors e2fsck could not fix'}; ${fsck.stdout.trim().split('\n').pop() ?? ''}`.trim(),
        );
      }
      const grow = await runOnUntrustedDisk(path, (dev) => ['resize2fs', dev]);
      if (grow.code !== 0) {
        throw new Error(
          `Growing the volume filesystem failed: ${grow.timedOut ? 'resize2fs took too long' : grow.stderr.trim()}`,
        );
      }
    }
    return { id, sizeMib: b.sizeMib };
  });

  serve(app, agentRoutes.importVolume, async ({ params: { id }, query, req }) => {
    const path = volumePath(dataDir, id);
    await mkdir(join(dataDir, 'volumes'), { recursive: true, mode: 0o700 });
    // The manager sends a volume only to a host its record does not name: a file here is a
    // leftover of an earlier move, never the copy in use.
    return receiveChecked(
      req.body as Readable,
      path,
      query,
      (actual) =>
        new HearthError(
          'VM_ARCHIVE_CHECKSUM_MISMATCH',
          `Importing volume ${id} failed: it hashes to ${actual}, its source said ${query.sha256}.`,
          { detail: { file: id, expected: query.sha256, actual } },
        ),
    );
  });

  serve(app, agentRoutes.deleteVolume, async ({ params }) => {
    await rm(volumePath(dataDir, params.id), { force: true });
    return { ok: true };
  });
}
