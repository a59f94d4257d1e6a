import { watch, type FSWatcher } from 'node:fs';
import { open } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';

export interface ConsoleViewer {
  send(data: Buffer): void;
}

const HISTORY_BYTES = 64 * 1024;

/**
 * Serial console fan-out for one VM. Output is read from the console log that the VMM appends
 * (so every viewer sees exactly the bytes the log holds, history included, with no gap or
 * duplicate between replay and live); input goes to the VMM's console socket.
 */
export class ConsoleHub {
  private readonly viewers = new Set<ConsoleViewer>();
  private readonly aliases = new Map<ConsoleViewer, ConsoleViewer>();
  private offset = 0;
  private watcher: FSWatcher | null = null;
  private poll: NodeJS.Timeout | null = null;
  private reading = false;
  private again = false;
  private input: Socket | null = null;
  private started = false;
  private disposed = false;

  constructor(
    private readonly logPath: string,
    private readonly socketPath: string,
  ) {}

  get size(): number {
    return this.viewers.size;
  }

  /** Adds a viewer: it first gets the tail of the log, then everything new. */
  async join(v: ConsoleViewer): Promise<void> {
    if (this.disposed) return;
    if (!this.started) {
      this.started = true;
      const fh = await open(this.logPath, 'r').catch(() => null);
      this.offset = fh ? (await fh.stat()).size : 0;
      await fh?.close();
      // The only viewer may have left while we looked: a disposed hub must not start watching.
      if (this.disposed) return;
      try {
        this.watcher = watch(this.logPath, () => this.pump());
        this.watcher.on('error', () => undefined);
      } catch {
        /* no log yet: the poll below covers it */
      }
      // inotify misses nothing on a local file, but a slow poll covers truncation and odd filesystems.
      this.poll = setInterval(() => this.pump(), 500);
      this.poll.unref();
    }
    // Join before reading history, holding live bytes back until it is sent: no gap, no repeat.
    const held: Buffer[] = [];
    let live = false;
    const gate: ConsoleViewer = { send: (b) => (live ? v.send(b) : held.push(b)) };
    this.viewers.add(gate);
    this.aliases.set(v, gate);
    const end = this.offset;
    const fh = await open(this.logPath, 'r').catch(() => null);
    if (fh) {
      try {
        const start = Math.max(0, end - HISTORY_BYTES);
        const buf = Buffer.alloc(end - start);
        const { bytesRead } = await fh.read(buf, 0, buf.length, start);
        if (bytesRead) v.send(buf.subarray(0, bytesRead));
      } finally {
        await fh.close();
      }
    }
    for (const b of held) v.send(b);
    live = true;
    if (this.disposed) this.viewers.clear();
  }

  leave(v: ConsoleViewer): void {
    const gate = this.aliases.get(v);
    if (gate) this.viewers.delete(gate);
    this.aliases.delete(v);
  }

  /** Types into the serial console. */
  write(data: Buffer): void {
    if (!this.input || this.input.destroyed) {
      this.input = createConnection(this.socketPath);
      // The VMM echoes output on this socket too; the log is our source, so drain and drop it.
      this.input.on('data', () => undefined);
      this.input.on('error', () => undefined);
      const sock = this.input;
      // A restarted VM has a new socket: reconnect on the next keystroke.
      sock.on('close', () => {
        if (this.input === sock) this.input = null;
      });
    }
    this.input.write(data);
  }

  private pump(): void {
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    // A read that fails (the log removed with its VM) is retried by the next change or poll.
    void this.readNew()
      .catch(() => undefined)
      .finally(() => {
        this.reading = false;
        if (this.again) {
          this.again = false;
          this.pump();
        }
      });
  }

  private async readNew(): Promise<void> {
    const fh = await open(this.logPath, 'r').catch(() => null);
    if (!fh) return;
    try {
      const { size } = await fh.stat();
      if (size < this.offset) this.offset = 0; // the log was capped under us
      while (size > this.offset) {
        const buf = Buffer.alloc(Math.min(size - this.offset, 256 * 1024));
        const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset);
        if (!bytesRead) break;
        this.offset += bytesRead;
        const chunk = buf.subarray(0, bytesRead);
        for (const v of this.viewers) v.send(chunk);
      }
    } finally {
      await fh.close();
    }
  }

  /** Stops watching and closes the input socket. Idempotent. */
  dispose(): void {
    this.disposed = true;
    this.watcher?.close();
    this.watcher = null;
    if (this.poll) clearInterval(this.poll);
    this.poll = null;
    this.input?.destroy();
    this.input = null;
    this.viewers.clear();
    this.aliases.clear();
  }
}
