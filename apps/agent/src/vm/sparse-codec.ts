import { createHash } from 'node:crypto';
import { open, rename, rm, stat } from 'node:fs/promises';
import { HearthError } from '@hearth/contract';

/**
 * The `hearth-sparse-1` encoding of a VM archive's disk (docs/backups.md § VM export): extents of
 * data, each a 16-byte header (offset, length: unsigned 64-bit big-endian) and its bytes; the
 * rest of the disk is zeros. Zero blocks are found by content (a hole reads as zeros, and so do
 * blocks the guest zeroed), so any file encodes the same way on any filesystem.
 */
const BLOCK = 64 * 1024;
const READ = 16 * BLOCK;
/** One extent at most this long: the encoder holds one extent in memory before sending it. */
const MAX_EXTENT = 4 * 2 ** 20;
const ZERO = Buffer.alloc(BLOCK);
export const EXTENT_HEADER = 16;

function header(offset: number, length: number): Buffer {
  const h = Buffer.alloc(EXTENT_HEADER);
  h.writeBigUInt64BE(BigInt(offset), 0);
  h.writeBigUInt64BE(BigInt(length), 8);
  return h;
}

/** The encoded bytes of `path`, extent by extent (a header and its data per chunk). */
export async function* encodeSparse(path: string): AsyncGenerator<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(READ);
    let pending: Buffer[] = [];
    let start = 0;
    let len = 0;
    const flush = (): Buffer | null => {
      if (!len) return null;
      const out = Buffer.concat([header(start, len), ...pending]);
      pending = [];
      len = 0;
      return out;
    };
    for (let pos = 0; ;) {
      const { bytesRead } = await fh.read(buf, 0, READ, pos);
      if (!bytesRead) break;
      for (let off = 0; off < bytesRead; off += BLOCK) {
        const block = buf.subarray(off, Math.min(off + BLOCK, bytesRead));
        const at = pos + off;
        if (block.equals(ZERO.subarray(0, block.length))) {
          const out = flush();
          if (out) yield out;
          continue;
        }
        if (len && (start + len !== at || len + block.length > MAX_EXTENT)) {
          const out = flush();
          if (out) yield out;
        }
        if (!len) start = at;
        // Copied: `buf` is reused by the next read.
        pending.push(Buffer.from(block));
        len += block.length;
      }
      pos += bytesRead;
    }
    const out = flush();
    if (out) yield out;
  } finally {
    await fh.close();
  }
}

export interface EncodedInfo {
  /** The file's size (what the guest sees for a disk). */
  sizeBytes: number;
  /** The encoded size: the archive member's size. */
  encodedBytes: number;
  /** Of the encoded bytes. */
  sha256: string;
}

/** Encodes `path` once without keeping anything: the size and sha256 the archive's manifest gives. */
export async function describeSparse(path: string): Promise<EncodedInfo> {
  const sizeBytes = (await stat(path)).size;
  const h = createHash('sha256');
  let encodedBytes = 0;
  for await (const c of encodeSparse(path)) {
    h.update(c);
    encodedBytes += c.length;
  }
  return { sizeBytes, encodedBytes, sha256: h.digest('hex') };
}

/**
 * The encoded bytes again, checked against what `describeSparse` found: if the file changed in
 * between (a VM started on the disk), the stream fails instead of ending with other content.
 */
export async function* encodeChecked(path: string, expected: EncodedInfo): AsyncGenerator<Buffer> {
  const h = createHash('sha256');
  let n = 0;
  for await (const c of encodeSparse(path)) {
    n += c.length;
    if (n > expected.encodedBytes) break;
    h.update(c);
    yield c;
  }
  if (n !== expected.encodedBytes || h.digest('hex') !== expected.sha256) {
    throw new HearthError(
      'VM_INVALID_STATE',
      `Exporting ${path} failed: the file changed while it was read (was the VM started?).`,
    );
  }
}

/**
 * Writes an encoded stream into `path` (a new file, `sizeBytes` long, sparse where the encoding
 * has no extent). Extents must lie inside the file and come in order. Answers the sha256 and
 * length of the encoded bytes, which the caller compares with the archive's manifest.
 */
export async function decodeSparse(
  body: AsyncIterable<Buffer> | Iterable<Buffer>,
  path: string,
  sizeBytes: number,
): Promise<{ sha256: string; encodedBytes: number }> {
  const h = createHash('sha256');
  const fh = await open(path, 'wx', 0o600);
  let encodedBytes = 0;
  try {
    await fh.truncate(sizeBytes);
    let head = Buffer.alloc(0);
    let remain = 0;
    let pos = 0;
    let end = 0;
    for await (const chunk of body) {
      h.update(chunk);
      encodedBytes += chunk.length;
      let c = chunk;
      while (c.length) {
        if (remain) {
          const part = c.subarray(0, remain);
          await fh.write(part, 0, part.length, pos);
          pos += part.length;
          remain -= part.length;
          c = c.subarray(part.length);
          continue;
        }
        const need = EXTENT_HEADER - head.length;
        head = Buffer.concat([head, c.subarray(0, need)]);
        c = c.subarray(need);
        if (head.length < EXTENT_HEADER) break;
        const offset = Number(head.readBigUInt64BE(0));
        const length = Number(head.readBigUInt64BE(8));
        head = Buffer.alloc(0);
        if (offset < end || length === 0 || offset + length > sizeBytes) {
          throw new HearthError(
            'VM_ARCHIVE_INVALID',
            `Writing ${path} failed: an extent (${offset}+${length}) lies outside the ${sizeBytes}-byte disk or out of order.`,
          );
        }
        pos = offset;
        remain = length;
        end = offset + length;
      }
    }
    if (remain || head.length) {
      throw new HearthError(
        'VM_ARCHIVE_INVALID',
        `Writing ${path} failed: the encoded disk ends mid-extent.`,
      );
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { sha256: h.digest('hex'), encodedBytes };
}

/**
 * Receives an encoded stream into `path`: written beside it (`.part`), checked against the
 * sha256 its sender announced, then renamed into place (replacing what was there). A mismatch
 * throws `mismatch(actual)`; any failure leaves no `.part` behind.
 */
export async function receiveChecked(
  body: AsyncIterable<Buffer>,
  path: string,
  o: { sizeBytes: number; sha256: string },
  mismatch: (actual: string) => Error,
): Promise<{ sha256: string; encodedBytes: number }> {
  const part = `${path}.part`;
  await rm(part, { force: true });
  try {
    const got = await decodeSparse(body, part, o.sizeBytes);
    if (got.sha256 !== o.sha256) throw mismatch(got.sha256);
    await rename(part, path);
    return got;
  } finally {
    await rm(part, { force: true });
  }
}
