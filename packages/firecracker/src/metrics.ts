import { constants, openSync } from 'node:fs';
import { Socket } from 'node:net';
import { jsonLines } from '@hearth/vmm';

export type FirecrackerMetrics = Record<string, unknown>;

/**
 * Reads Firecracker's metrics FIFO: one JSON object per line, every 60 s and on FlushMetrics.
 * The FIFO is opened read-write and non-blocking, so opening never waits for a writer and the
 * reader never sees end-of-file between Firecracker's writes; the fd is driven by libuv as a pipe
 * (a plain file stream would park a thread-pool thread on every idle read).
 */
export class MetricsReader {
  latest: FirecrackerMetrics | null = null;
  private waiters: ((m: FirecrackerMetrics | null) => void)[] = [];
  private readonly sock: Socket;

  constructor(fifoPath: string) {
    const fd = openSync(fifoPath, constants.O_RDWR | constants.O_NONBLOCK);
    this.sock = new Socket({ fd, readable: true, writable: false });
    this.sock.setEncoding('utf8');
    this.sock.on('data', (chunk: string) => this.onData(chunk));
    this.sock.on('error', () => undefined);
    this.sock.unref();
  }

  private readonly onData = jsonLines((m) => {
    this.latest = m;
    for (const w of this.waiters.splice(0)) w(this.latest);
  });

  /** The next line Firecracker writes, or null after `timeoutMs`. */
  next(timeoutMs: number): Promise<FirecrackerMetrics | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve(null);
      }, timeoutMs);
      const done = (m: FirecrackerMetrics | null) => {
        clearTimeout(timer);
        resolve(m);
      };
      this.waiters.push(done);
    });
  }

  dispose(): void {
    this.sock.destroy();
    for (const w of this.waiters.splice(0)) w(null);
  }
}
