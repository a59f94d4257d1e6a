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
  const head = Buffer.alloc(FRAME_HEADER_BYTES);
  FRAME_MAGIC.copy(head, 0);
  head.writeUInt32BE(body.length + 5, 2);
  head.writeUInt32BE(stream, 6);
  head.writeUInt8(type, 10);
  return Buffer.concat([head, body]);
}

/**
 * Incremental frame parser. Until `synced` it skips bytes up to the next magic (left-overs from an
 * earlier connection); once synced, any malformed header is a FrameError and the caller must drop
 * the connection: a peer that breaks framing cannot be trusted to find its way back.
 */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);
  synced = false;
  skipped = 0;

  constructor(private readonly maxBody = MAX_FRAME_BODY) {}

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Frame[] = [];
    for (;;) {
      if (!this.synced) {
        const at = this.buf.indexOf(FRAME_MAGIC);
        if (at < 0) {
          // Keep a trailing 'H' that may start the next magic.
          const keep = this.buf.length && this.buf[this.buf.length - 1] === FRAME_MAGIC[0] ? 1 : 0;
          this.skipped += this.buf.length - keep;
          this.buf = this.buf.subarray(this.buf.length - keep);
          return out;
        }
        this.skipped += at;
        this.buf = this.buf.subarray(at);
      }
      if (this.buf.length < FRAME_HEADER_BYTES) return out;
      if (!this.buf.subarray(0, 2).equals(FRAME_MAGIC)) throw new FrameError('frame without magic');
      const len = this.buf.readUInt32BE(2);
      if (len < 5 || len > this.maxBody) {
        if (!this.synced) {
          // A false magic inside junk: skip it and keep looking.
          this.buf = this.buf.subarray(1);
          this.skipped++;
          continue;
        }
        throw new FrameError(`frame length ${len} outside 5..${this.maxBody}`);
      }
      const type = this.buf.readUInt8(10);
      if (!KNOWN_TYPES.has(type)) {
        if (!this.synced) {
          this.buf = this.buf.subarray(1);
          this.skipped++;
          continue;
        }
        throw new FrameError(`unknown frame type ${type}`);
      }
      if (this.buf.length < 6 + len) return out;
      const stream = this.buf.readUInt32BE(6);
      out.push({ stream, type, payload: Buffer.from(this.buf.subarray(FRAME_HEADER_BYTES, 6 + len)) });
      this.buf = this.buf.subarray(6 + len);
    }
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
