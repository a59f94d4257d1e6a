import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GuestLogRecord } from '@hearth/contract';

/**
 * A VM's app output on the host, in its directory under `app-logs/`: NDJSON files, one line per
 * record {t, o, l, b, s} (time, stream, text, boot id prefix, the guest's sequence number), or
 * {t, gap: [from, to], b} where the guest no longer had what was asked. `app.log` is written;
 * at `maxBytes` it becomes `app.log.1` (the older ones shift up, the last dropped), so the files
 * never hold more than maxBytes × maxFiles. `cursor.json` ({bootId, seq}) says what is stored, so
 * a restarted agent asks the guest for exactly what follows.
 */

export const DEFAULT_APP_LOGS = { maxBytes: 10 * 1024 * 1024, maxFiles: 5 };

export interface StoredLine {
  t: string;
  o?: 'stdout' | 'stderr';
  l?: string;
  b: string;
  s?: number;
  gap?: [number, number];
}

export interface Cursor {
  bootId: string;
  seq: number;
  /** The last app status message (event) recorded for this boot. */
  event?: number;
}

/** The short boot id stored on each line (enough to tell boots of one VM apart). */
export const bootTag = (bootId: string) => bootId.replace(/-/g, '').slice(0, 12);

export class AppLogStore {
  readonly dir: string;
  private size = -1;
  private queue: Promise<void> = Promise.resolve();
  private cursorValue: Cursor | null = null;

  constructor(
    vmDir: string,
    private readonly limits: { maxBytes: number; maxFiles: number } = DEFAULT_APP_LOGS,
  ) {
    this.dir = join(vmDir, 'app-logs');
  }

  /** The files, oldest first. */
  files(): string[] {
    const out: string[] = [];
    for (let i = this.limits.maxFiles - 1; i >= 1; i--) out.push(join(this.dir, `app.log.${i}`));
    out.push(join(this.dir, 'app.log'));
    return out;
  }

  /** What is stored: cursor.json, or the last record of the files when that is further on. */
  async cursor(): Promise<Cursor | null> {
    await this.queue;
    if (this.cursorValue) return this.cursorValue;
    let c: Cursor | null = null;
    try {
      c = JSON.parse(await readFile(join(this.dir, 'cursor.json'), 'utf8')) as Cursor;
    } catch {
      c = null;
    }
    // Records may have reached the file after the cursor was last written (the agent stopped in
    // between): the files win, so nothing is fetched twice.
    const last = await this.lastLine();
    if (last?.s !== undefined && c && bootTag(c.bootId) === last.b && last.s > c.seq) {
      c = { ...c, seq: last.s };
    }
    this.cursorValue = c;
    return c;
  }

  private async lastLine(): Promise<StoredLine | null> {
    for (const f of this.files().reverse()) {
      let text: string;
      try {
        const fh = await open(f, 'r');
        try {
          const { size } = await fh.stat();
          const len = Math.min(size, 64 * 1024);
          const buf = Buffer.alloc(len);
          await fh.read(buf, 0, len, size - len);
          text = buf.toString('utf8');
        } finally {
          await fh.close();
        }
      } catch {
        continue;
      }
      const lines = text.split('\n').filter(Boolean);
      for (let i = lines.length - 1; i >= 0; i--) {
        try {
          const l = JSON.parse(lines[i]!) as StoredLine;
          if (l.s !== undefined) return l;
        } catch {
          // a partial first line of the window, or a line cut by a crash
        }
      }
    }
    return null;
  }

  /** Appends records of boot `bootId` (and gap markers) in order; the cursor follows. */
  append(bootId: string, records: GuestLogRecord[], gap?: [number, number]): Promise<void> {
    const run = () => this.write(bootId, records, gap);
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async write(bootId: string, records: GuestLogRecord[], gap?: [number, number]): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    if (this.size < 0)
      this.size = await stat(join(this.dir, 'app.log')).then(
        (s) => s.size,
        () => 0,
      );
    const b = bootTag(bootId);
    const lines: string[] = [];
    if (gap) lines.push(JSON.stringify({ t: new Date().toISOString(), gap, b }) + '\n');
    for (const r of records) lines.push(JSON.stringify({ t: r.t, o: r.o, l: r.l, b, s: r.s }) + '\n');
    let chunk = '';
    for (const line of lines) {
      const n = Buffer.byteLength(line);
      if (this.size + Buffer.byteLength(chunk) + n > this.limits.maxBytes && this.size + chunk.length > 0) {
        await this.flush(chunk);
        chunk = '';
        await this.rotate();
      }
      chunk += line;
    }
    await this.flush(chunk);
    const last = records.at(-1)?.s ?? gap?.[1];
    if (last !== undefined) await this.saveCursor(bootId, { seq: last });
  }

  /** Notes that app status messages up to `event` of boot `bootId` were passed on. */
  noteEvent(bootId: string, event: number): Promise<void> {
    const run = async () => {
      await mkdir(this.dir, { recursive: true });
      await this.saveCursor(bootId, { event });
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async saveCursor(bootId: string, change: { seq?: number; event?: number }): Promise<void> {
    const prev = this.cursorValue?.bootId === bootId ? this.cursorValue : { bootId, seq: 0 };
    const cursor: Cursor = { ...prev, ...change };
    this.cursorValue = cursor;
    const tmp = join(this.dir, 'cursor.json.tmp');
    await writeFile(tmp, JSON.stringify(cursor));
    await rename(tmp, join(this.dir, 'cursor.json'));
  }

  private async flush(chunk: string): Promise<void> {
    if (!chunk) return;
    await writeFile(join(this.dir, 'app.log'), chunk, { flag: 'a' });
    this.size += Buffer.byteLength(chunk);
  }

  private async rotate(): Promise<void> {
    const f = this.files(); // oldest first; the last is app.log
    if (this.limits.maxFiles === 1) {
      await rm(f[0]!, { force: true });
    } else {
      await rm(f[0]!, { force: true });
      for (let i = 1; i < f.length; i++) await rename(f[i]!, f[i - 1]!).catch(() => undefined);
    }
    this.size = 0;
  }

  /** Waits for every append queued so far. */
  idle(): Promise<void> {
    return this.queue;
  }
}
