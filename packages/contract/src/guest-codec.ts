import {
  FRAME_HEADER_BYTES,
  FRAME_MAGIC as MAGIC_TEXT,
  FrameType,
  MAX_FRAME_BODY,
} from './guest-protocol.ts';

const FRAME_MAGIC = Buffer.from(MAGIC_TEXT);

export interface Frame {
  stream: number;
  type: number;
  payload: Buffer;
}

export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

const KNOWN_TYPES = new Set<number>(Object.values(FrameType));

export function encodeFrame(stream: number, type: FrameType, payload: Buffer | string | object = ''): Buffer {
  const body =
    typeof payload === 'string'
      ? Buffer.from(payload)
      : Buffer.isBuffer(payload)
        ? payload
        : Buffer.from(JSON.stringify(payload));
  return Buffer.concat([frameHead(stream, type, body.length), body]);
}

/**
 * A frame's header alone, for a payload of `bytes` written right after it: a sender of big data
 * payloads writes both (one writev) instead of copying each payload into a joined frame.
 */
export function frameHead(stream: number, type: FrameType, bytes: number): Buffer {
  const head = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  FRAME_MAGIC.copy(head, 0);
  head.writeUInt32BE(bytes + 5, 2);
  head.writeUInt32BE(stream, 6);
  head.writeUInt8(type, 10);
  return head;
}

/** A WINDOW frame's payload: the credit increment as u32 BE. */
export function encodeWindow(stream: number, bytes: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(bytes, 0);
  return encodeFrame(stream, FrameType.WINDOW, b);
}

export function windowIncrement(f: Frame): number {
  if (f.payload.length !== 4) throw new FrameError(`WINDOW on stream ${f.stream} is not 4 bytes`);
  return f.payload.readUInt32BE(0);
}

/**
 * Incremental frame parser. Until `synced` it skips bytes up to the next magic (left-overs from an
 * earlier connection); once synced, any malformed header is a FrameError and the caller must drop
 * the connection: a peer that breaks framing cannot be trusted to find its way back.
 *
 * Linear in the bytes pushed: chunks are kept in a list and each byte is copied at most once (a
 * payload that spans chunks is assembled once; one inside a chunk is a view of it). Only junk
 * before the first frame is joined to search for the magic, and junk is dropped as it is scanned.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  /** Offset of the first unread byte in chunks[0]. */
  private head = 0;
  private length = 0;
  synced = false;
  skipped = 0;

  constructor(private readonly maxBody = MAX_FRAME_BODY) {}

  /** Bytes received and not yet returned as frames (a partial frame; bounded by maxBody + header). */
  get buffered(): number {
    return this.length;
  }

  push(chunk: Buffer): Frame[] {
    if (chunk.length) {
      this.chunks.push(chunk);
      this.length += chunk.length;
    }
    const out: Frame[] = [];
    for (;;) {
      if (!this.synced && !this.startsWithMagic()) {
        const buf = this.join();
        const at = buf.indexOf(FRAME_MAGIC);
        if (at < 0) {
          // Keep a trailing 'H' that may start the next magic.
          const keep = buf.length && buf[buf.length - 1] === FRAME_MAGIC[0] ? 1 : 0;
          this.skip(buf.length - keep);
          this.skipped += buf.length - keep;
          return out;
        }
        this.skipped += at;
        this.skip(at);
      }
      if (this.length < FRAME_HEADER_BYTES) return out;
      const head = this.peek(FRAME_HEADER_BYTES);
      if (head[0] !== FRAME_MAGIC[0] || head[1] !== FRAME_MAGIC[1])
        throw new FrameError('frame without magic');
      const len = head.readUInt32BE(2);
      const type = head.readUInt8(10);
      const badLen = len < 5 || len > this.maxBody;
      if (badLen || !KNOWN_TYPES.has(type)) {
        if (!this.synced) {
          // A false magic inside junk: skip it and keep looking.
          this.skip(1);
          this.skipped++;
          continue;
        }
        throw new FrameError(
          badLen ? `frame length ${len} outside 5..${this.maxBody}` : `unknown frame type ${type}`,
        );
      }
      if (this.length < 6 + len) return out;
      const stream = head.readUInt32BE(6);
      this.skip(FRAME_HEADER_BYTES);
      out.push({ stream, type, payload: this.take(len - 5) });
    }
  }

  private startsWithMagic(): boolean {
    return this.length >= 2 && this.byteAt(0) === FRAME_MAGIC[0] && this.byteAt(1) === FRAME_MAGIC[1];
  }

  private byteAt(i: number): number {
    let at = this.head + i;
    for (const c of this.chunks) {
      if (at < c.length) return c[at]!;
      at -= c.length;
    }
    return -1;
  }

  /** All buffered bytes as one buffer (used only while unsynced, where junk is then dropped). */
  private join(): Buffer {
    const first = this.chunks[0];
    if (!first) return Buffer.alloc(0);
    if (this.chunks.length === 1) return first.subarray(this.head);
    const all = Buffer.concat([first.subarray(this.head), ...this.chunks.slice(1)]);
    this.chunks = [all];
    this.head = 0;
    return all;
  }

  /** The first n buffered bytes without consuming them (n is small: a header). */
  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length - this.head >= n) return first.subarray(this.head, this.head + n);
    const out = Buffer.alloc(n);
    let filled = 0;
    let off = this.head;
    for (const c of this.chunks) {
      filled += c.copy(out, filled, off, Math.min(c.length, off + n - filled));
      off = 0;
      if (filled === n) break;
    }
    return out;
  }

  private skip(n: number): void {
    this.length -= n;
    while (n > 0) {
      const c = this.chunks[0]!;
      const rest = c.length - this.head;
      if (n < rest) {
        this.head += n;
        return;
      }
      n -= rest;
      this.chunks.shift();
      this.head = 0;
    }
  }

  /** Consumes n bytes: a view when they lie in one chunk, one copy when they span several. */
  private take(n: number): Buffer {
    const first = this.chunks[0];
    if (n === 0 || !first) return Buffer.alloc(0);
    if (first.length - this.head >= n) {
      // A view keeps its whole chunk alive: copy a small payload rather than pin a big read.
      const v =
        n * 2 >= first.length
          ? first.subarray(this.head, this.head + n)
          : Buffer.from(first.subarray(this.head, this.head + n));
      this.skip(n);
      return v;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const m = Math.min(c.length - this.head, n - filled);
      c.copy(out, filled, this.head, this.head + m);
      filled += m;
      this.skip(m);
    }
    return out;
  }
}

export function parseJsonPayload(f: Frame): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(f.payload.toString('utf8'));
  } catch {
    throw new FrameError(`frame type ${f.type} on stream ${f.stream} carries invalid JSON`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) {
    throw new FrameError(`frame type ${f.type} on stream ${f.stream} is not a JSON object`);
  }
  return v as Record<string, unknown>;
}
