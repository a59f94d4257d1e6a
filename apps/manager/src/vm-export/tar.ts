import { Header, Pax } from 'tar';

/**
 * The little of tar a VM archive needs, streamed both ways: members written one after another
 * from async sources whose sizes are known up front, and read back one by one with each body
 * handed on as it arrives (never a whole member in memory). Headers are node-tar's (ustar, with
 * the base-256 sizes GNU tar reads for members over 8 GiB); pax and GNU long-name headers from
 * other tar programs are understood when reading.
 */
const BLOCK = 512;

export function memberHeader(path: string, size: number, mtime = new Date()): Buffer {
  const h = new Header({
    path,
    size,
    mode: 0o600,
    uid: 0,
    gid: 0,
    mtime,
    type: 'File',
    uname: '',
    gname: '',
  });
  const block = Buffer.alloc(BLOCK);
  h.encode(block, 0);
  return block;
}

export const padding = (size: number): Buffer => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);

/** Exact reads from a stream of chunks. */
class Bytes {
  private buf: Buffer = Buffer.alloc(0);
  private done = false;
  constructor(private readonly it: AsyncIterator<Buffer>) {}

  private async fill(n: number): Promise<boolean> {
    while (this.buf.length < n && !this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else this.buf = this.buf.length ? Buffer.concat([this.buf, r.value]) : Buffer.from(r.value);
    }
    return this.buf.length >= n;
  }

  /** Exactly `n` bytes, or null at a clean end (nothing left); a short read is an error. */
  async exact(n: number): Promise<Buffer | null> {
    if (!(await this.fill(n))) {
      if (!this.buf.length) return null;
      throw new TarError(`the archive ends inside a ${n}-byte block`);
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** `n` bytes as they come. */
  async *span(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (!this.buf.length && !(await this.fill(1)))
        throw new TarError(`the archive ends ${left} bytes before the member does`);
      const part = this.buf.subarray(0, Math.min(left, this.buf.length));
      this.buf = this.buf.subarray(part.length);
      left -= part.length;
      yield part;
    }
  }
}

export class TarError extends Error {}

export interface Member {
  path: string;
  size: number;
  /** Read it wholly (or `skip()` it) before asking for the next member. */
  body: AsyncGenerator<Buffer>;
}

/** Regular-file members of a tar stream, in order; directories and links are passed over. */
export async function* readMembers(source: AsyncIterable<Buffer>): AsyncGenerator<Member> {
  const bytes = new Bytes(source[Symbol.asyncIterator]());
  let ex: Record<string, unknown> | undefined;
  let longName: string | undefined;
  for (;;) {
    const block = await bytes.exact(BLOCK);
    if (!block) return;
    if (block.every((b) => b === 0)) return;
    const h = new Header(block, 0, ex as never);
    if (!h.cksumValid) throw new TarError('a member header has a bad checksum (not a tar archive?)');
    const size = h.size ?? 0;
    const pad = padding(size).length;
    const type = h.type;
    if (type === 'ExtendedHeader' || type === 'GlobalExtendedHeader' || type === 'NextFileHasLongPath') {
      if (size > 1024 * 1024) throw new TarError('an extended header is larger than 1 MiB');
      const parts: Buffer[] = [];
      for await (const c of bytes.span(size + pad)) parts.push(c);
      const text = Buffer.concat(parts).subarray(0, size).toString('utf8');
      if (type === 'NextFileHasLongPath') longName = text.replace(/\0.*$/s, '');
      else if (type === 'ExtendedHeader') ex = { ...Pax.parse(text, ex as never) };
      continue;
    }
    const path = longName ?? h.path ?? '';
    ex = undefined;
    longName = undefined;
    const body = (async function* () {
      yield* bytes.span(size);
      for await (const c of bytes.span(pad)) void c;
    })();
    if (type !== 'File' && type !== 'OldFile' && type !== 'ContiguousFile') {
      for await (const c of body) void c;
      continue;
    }
    yield { path: path.replace(/^\.\//, ''), size, body };
  }
}

/** Reads a member to its end, keeping nothing. */
export async function skip(m: Member): Promise<void> {
  for await (const c of m.body) void c;
}
