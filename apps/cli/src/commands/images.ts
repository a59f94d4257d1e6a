import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable, Transform } from 'node:stream';
import type { Command } from 'commander';
import { HearthError, type Image, type ImportEvent } from '@hearth/contract';
import type { HearthClient } from '@hearth/sdk';
import { UsageError } from '../usage-error.ts';
import { mib } from '../format.ts';
import { printJson } from '../output.ts';
import { act } from './vm.ts';

/** Runs POST /v1/images/import as an NDJSON stream, printing progress on stderr. */
export async function importWithProgress(
  c: HearthClient,
  body: { ref: string; name?: string; source?: 'oci' | 'url' | 'path'; sha256?: string },
  quiet = false,
): Promise<{ image: Image; cached: boolean }> {
  const res = await c.raw('importImage', { body: { ...body, stream: true } });
  const lines = createInterface({
    input: Readable.fromWeb(res.body as import('node:stream/web').ReadableStream),
  });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const e = JSON.parse(line) as ImportEvent;
    if (e.type === 'progress') {
      if (quiet) continue;
      const bytes = e.bytes ? ` ${mib(e.bytes)}${e.totalBytes ? ` of ${mib(e.totalBytes)}` : ''}` : '';
      process.stderr.write(`  ${e.phase}: ${e.message}${bytes}\n`);
    } else if (e.type === 'done') return { image: e.image, cached: e.cached };
    else {
      const err = new HearthError(e.error.code as HearthError['code'], e.error.message, {
        hint: e.error.hint,
      });
      throw err;
    }
  }
  throw new HearthError(
    'IMAGE_IMPORT_FAILED',
    `Importing ${body.ref} failed: the manager closed the stream early.`,
  );
}

/** Hashes the file, declares the image, streams the content with progress; a failed upload leaves no record. */
async function upload(c: HearthClient, file: string, o: { name?: string; kind?: string; format?: string }) {
  const s = await stat(file).catch(() => null);
  if (!s?.isFile()) throw new UsageError(`${file} is not a readable file.`);
  process.stderr.write(`  hashing ${file} (${mib(s.size)})\n`);
  // Loaded on use: the image package is not needed by the other verbs.
  const { sha256File } = await import('@hearth/images');
  const sha256 = await sha256File(file);
  const name =
    o.name ??
    basename(file)
      .toLowerCase()
      .replace(/\.(ext4|img|raw)$/, '')
      .replace(/[^a-z0-9._-]+/g, '-');
  const img = await c.call('createImage', {
    body: {
      name,
      sha256,
      sizeBytes: s.size,
      ...(o.kind ? { kind: o.kind as Image['kind'] } : {}),
      ...(o.format ? { format: o.format } : {}),
    },
  });
  let sent = 0;
  let shown = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _e, cb) {
      sent += chunk.length;
      if (sent - shown >= s.size / 10 || sent === s.size) {
        shown = sent;
        process.stderr.write(
          `  upload: ${mib(sent)} of ${mib(s.size)} (${Math.round((100 * sent) / s.size)}%)\n`,
        );
      }
      cb(null, chunk);
    },
  });
  try {
    const body = Readable.toWeb(createReadStream(file).pipe(meter)) as unknown as ReadableStream;
    const res = await c.raw(
      'uploadImageContent',
      { params: { id: img.id } },
      { body, headers: { 'content-type': 'application/octet-stream' } },
    );
    return (await res.json()) as Image;
  } catch (e) {
    await c.call('deleteImage', { params: { id: img.id } }).catch(() => undefined);
    throw e;
  }
}

/** `hearth image import|upload|delete` (ls lives with the other read-only views). */
export function imageCommands(program: Command, image: Command): void {
  image
    .command('import <ref>')
    .description(
      'Import an OCI image (node:22-alpine, localhost:5000/app:tag), an http(s) URL, or a host path',
    )
    .option('--name <name>', 'image name (default: derived from the reference)')
    .option('--sha256 <hex>', 'for URLs and paths: refuse content with another digest')
    .action(
      act(program, async (c, json, ref: string, o: { name?: string; sha256?: string }) => {
        const t0 = Date.now();
        const { image: img, cached } = await importWithProgress(c, { ref, ...o }, json);
        if (json) return printJson(img);
        const how = cached ? 'already imported' : `imported in ${((Date.now() - t0) / 1000).toFixed(1)} s`;
        console.log(
          `${img.name} (${img.id}) ${how}: ${mib(img.sizeBytes)}, sha256 ${img.sha256.slice(0, 12)}`,
        );
      }),
    );
  image
    .command('upload <file>')
    .description('Upload a rootfs (ext4), kernel or initrd, verified by sha256')
    .option('--name <name>', 'image name (default: the file name)')
    .option('--kind <kind>', 'rootfs (default), kernel or initrd')
    .option('--format <format>', 'ext4 (default for rootfs), elf, bzImage, cpio.gz')
    .action(
      act(program, async (c, json, file: string, o: { name?: string; kind?: string; format?: string }) => {
        const img = await upload(c, file, o);
        if (json) return printJson(img);
        console.log(`${img.name} (${img.id}) uploaded: ${mib(img.sizeBytes)}, sha256 ${img.sha256}`);
      }),
    );
  image
    .command('delete <image>')
    .alias('rm')
    .description('Delete an image (refused while a VM uses it)')
    .action(
      act(program, async (c, json, id: string) => {
        const img = await c.call('deleteImage', { params: { id } });
        if (json) return printJson(img);
        console.log(`${img.name} (${img.id}) deleted`);
      }),
    );
}
