import { createHash, randomBytes } from 'node:crypto';
import { sha256File } from '@hearth/images';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AgentImageRef } from '@hearth/contract';

/**
 * An answer to an image content request: its status and its body. A fetch `Response` is one; the
 * agent's own client answers with a node:http response, so the agent never loads fetch's
 * WebAssembly HTTP parser (it runs with V8's lite mode, which has no WebAssembly).
 */
export interface ImageContent {
  status: number;
  body: AsyncIterable<Uint8Array> | null;
}

export interface ImageCacheOptions {
  /** <agent data>/images: fetched images, named by sha256. */
  dir: string;
  /** GET /v1/images/{id}/content on the manager, with the agent token. */
  fetchContent: (imageId: string) => Promise<ImageContent>;
  /** Never use the manager's path even when it is readable here (tests; hosts sharing a mount). */
  alwaysFetch?: boolean;
}

/** Hash answers about the manager's files, kept across agent restarts; the newest this many. */
const VERIFIED_FILE = 'verified.json';
const VERIFIED_KEPT = 256;

/**
 * Gives the supervisor a local file for each image a VM needs. The manager's own path is used only
 * when this host can read it and it hashes to the expected sha256 (same host, same file); anything
 * else is fetched from the manager once, verified, and cached by digest.
 */
export class ImageCache {
  private readonly verified = new Map<string, string>();
  private readonly fetching = new Map<string, Promise<string>>();
  /** The answers kept by an earlier agent process, read once. */
  private loaded: Promise<void> | null = null;
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly o: ImageCacheOptions) {}

  private get verifiedFile(): string {
    return join(this.o.dir, VERIFIED_FILE);
  }

  async local(ref: AgentImageRef): Promise<string> {
    const cached = join(this.o.dir, ref.sha256);
    if (await stat(cached).catch(() => null)) return cached;
    if (!this.o.alwaysFetch && (await this.sameFile(ref))) return ref.path;
    if (!ref.id) {
      throw new Error(
        `Fetching image ${ref.path} failed: it is not readable on this host and the manager sent no image id`,
      );
    }
    let p = this.fetching.get(ref.sha256);
    if (!p) {
      p = this.fetch(ref.id, ref.sha256, cached).finally(() => this.fetching.delete(ref.sha256));
      this.fetching.set(ref.sha256, p);
    }
    return p;
  }

  /**
   * Hashes the manager's file once per version (path, size, mtime, ctime, inode) and remembers the
   * answer, also across agent restarts (`verified.json`): hashing a large image is most of the
   * first boot after an agent start otherwise. A file rewritten in place changes its ctime, which
   * no one can set back, so a changed file is hashed again.
   */
  private async sameFile(ref: AgentImageRef): Promise<boolean> {
    const s = await stat(ref.path).catch(() => null);
    if (!s?.isFile()) return false;
    this.loaded ??= this.load();
    await this.loaded;
    const key = `${ref.path}:${s.size}:${s.mtimeMs}:${s.ctimeMs}:${s.ino}`;
    let sha = this.verified.get(key);
    if (!sha) {
      sha = await sha256File(ref.path).catch(() => '');
      this.verified.set(key, sha);
      if (sha) this.save();
    }
    return sha === ref.sha256;
  }

  private async load(): Promise<void> {
    const text = await readFile(this.verifiedFile, 'utf8').catch(() => '');
    try {
      const kept = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      for (const [k, v] of Object.entries(kept)) if (typeof v === 'string') this.verified.set(k, v);
    } catch {
      // A torn or foreign file: every image is hashed again, as on a first start.
    }
  }

  /** Written whole, one write at a time, through a rename: a crash leaves the old or the new file. */
  private save(): void {
    this.saving = this.saving
      .then(async () => {
        const entries = [...this.verified].filter(([, v]) => v).slice(-VERIFIED_KEPT);
        const tmp = `${this.verifiedFile}.tmp`;
        await mkdir(this.o.dir, { recursive: true });
        await writeFile(tmp, JSON.stringify(Object.fromEntries(entries)) + '\n');
        await rename(tmp, this.verifiedFile);
      })
      .catch(() => undefined);
  }

  /** Resolves once the answers hashed so far are on disk (tests; a clean stop). */
  flushed(): Promise<void> {
    return this.saving;
  }

  private async fetch(id: string, sha256: string, target: string): Promise<string> {
    const what = `Fetching image ${id} from the manager`;
    await mkdir(this.o.dir, { recursive: true });
    let res: ImageContent;
    try {
      res = await this.o.fetchContent(id);
    } catch (e) {
      throw new Error(`${what} failed: ${(e as { cause?: Error }).cause?.message ?? (e as Error).message}`);
    }
    if (res.status < 200 || res.status >= 300 || !res.body) {
      throw new Error(`${what} failed: HTTP ${res.status} ${await head(res.body, 300)}`);
    }
    const tmp = join(this.o.dir, `.tmp-${sha256.slice(0, 12)}-${randomBytes(4).toString('hex')}`);
    const h = createHash('sha256');
    const hash = new Transform({
      transform(chunk: Buffer, _e, cb) {
        h.update(chunk);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(res.body, hash, createWriteStream(tmp));
      const got = h.digest('hex');
      if (got !== sha256) throw new Error(`${what} failed: the content hashes to ${got}, not ${sha256}`);
      await rename(tmp, target);
      return target;
    } finally {
      await rm(tmp, { force: true });
    }
  }
}

/** The first `max` characters of an error answer's body, for the message. */
async function head(body: AsyncIterable<Uint8Array> | null, max: number): Promise<string> {
  if (!body) return '';
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    chunks.push(Buffer.from(c));
    n += c.length;
    if (n >= max) break;
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, max);
}
