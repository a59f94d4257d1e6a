import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HearthError } from '@hearth/contract';

export interface Written {
  tmp: string;
  sha256: string;
  sizeBytes: number;
}

/**
 * The manager's content-addressed image store (<data>/images/<sha256>.<format>). Content is
 * streamed into tmp/, hashed on the way, and renamed into place only once it is verified, so a
 * failed upload or import never leaves a file behind under a real name.
 */
export class ContentStore {
  readonly tmpDir: string;

  constructor(readonly dir: string) {
    this.tmpDir = join(dir, 'tmp');
  }

  async init(): Promise<void> {
    await mkdir(this.tmpDir, { recursive: true });
    // Whatever a crashed manager left half-written is garbage.
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true });
  }

  tmpPath(label: string): string {
    return join(this.tmpDir, `${label}-${randomBytes(6).toString('hex')}`);
  }

  pathFor(sha256: string, format: string): string {
    return join(this.dir, `${sha256}.${format.replace(/[^a-z0-9]/gi, '') || 'bin'}`);
  }

  /** Streams `body` into a temporary file; the caller commits or discards it. */
  async write(
    body: Readable,
    opts: { limit?: number; onBytes?: (n: number) => void; what: string },
  ): Promise<Written> {
    const tmp = this.tmpPath('upload');
    const h = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _e, cb) {
        size += chunk.length;
        if (opts.limit !== undefined && size > opts.limit) {
          cb(
            new HearthError(
              'PAYLOAD_TOO_LARGE',
              `${opts.what} failed: the content exceeds the ${opts.limit}-byte limit.`,
            ),
          );
          return;
        }
        h.update(chunk);
        opts.onBytes?.(size);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(body, tap, createWriteStream(tmp, { mode: 0o644 }));
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    return { tmp, sha256: h.digest('hex'), sizeBytes: size };
  }

  /** Hashes a file already on disk (imports) without copying it first. */
  async adopt(file: string): Promise<Written> {
    const { sha256File } = await import('@hearth/images');
    return { tmp: file, sha256: await sha256File(file), sizeBytes: (await stat(file)).size };
  }

  /** Moves verified content into place under its digest; identical content already there wins. */
  async commit(w: Written, format: string): Promise<string> {
    const target = this.pathFor(w.sha256, format);
    if (await stat(target).catch(() => null)) {
      await rm(w.tmp, { force: true });
      return target;
    }
    await rename(w.tmp, target);
    return target;
  }

  /** Puts a file from elsewhere (a host path) into the store: hard link when possible, else copy. */
  async ingest(file: string, sha256: string, format: string): Promise<string> {
    const target = this.pathFor(sha256, format);
    if (await stat(target).catch(() => null)) return target;
    const tmp = this.tmpPath('ingest');
    try {
      await link(file, tmp).catch(async () => {
        const { copyFile } = await import('node:fs/promises');
        await copyFile(file, tmp);
      });
      await rename(tmp, target);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    return target;
  }

  async discard(file: string): Promise<void> {
    await rm(file, { force: true, recursive: true });
  }
}
