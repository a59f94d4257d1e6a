import type { Duplex } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/** The error a call to the shim ends with when it outlives its deadline. */
export class ShimTimeout extends Error {}

/** The error a call ends with when its stream broke (or the client was closed) before the answer. */
export class ShimClosed extends Error {}

const closedError = (why: string) => new ShimClosed(why);

/** Opens a byte stream to the shim (a port stream through the VM's agent, or a socket in tests). */
export type ShimConnect = () => Promise<Duplex>;

/** The most one write (one WebSocket message to the agent) carries. */
const WRITE_CHUNK = 256 * 1024;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** One connection to the shim and the calls waiting for an answer on it. */
class Conn {
  readonly pending = new Map<string, Pending>();
  private readonly decoder = new StringDecoder('utf8');
  private buf = '';
  /** How much of `buf` holds no newline: a long answer in many chunks is not rescanned. */
  private scanned = 0;
  closed = false;

  constructor(
    readonly stream: Duplex,
    private readonly onAnswer: (conn: Conn, answer: Record<string, unknown>) => void,
    private readonly onClose: (conn: Conn, why: Error) => void,
  ) {
    stream.on('data', (d: Buffer) => this.take(this.decoder.write(d)));
    stream.on('error', (e: Error) => this.close(e));
    stream.on('close', () => this.close(new Error('the instance closed the connection')));
    stream.on('end', () => this.close(new Error('the instance ended the connection')));
  }

  private take(text: string): void {
    this.buf += text;
    let nl = this.buf.indexOf('\n', this.scanned);
    while (nl >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      this.scanned = 0;
      let answer: Record<string, unknown>;
      try {
        answer = JSON.parse(line) as Record<string, unknown>;
      } catch {
        // A shim that prints something else on its socket is broken: no answer can be trusted.
        this.close(new Error(`the shim answered with something that is not JSON: ${line.slice(0, 200)}`));
        return;
      }
      this.onAnswer(this, answer);
      if (this.closed) return;
      nl = this.buf.indexOf('\n');
    }
    this.scanned = this.buf.length;
  }

  send(req: Record<string, unknown>): void {
    // Destroyed but its 'close' not emitted yet: a write now would fail without a word.
    if (this.stream.destroyed) return this.close(new Error('the connection to the instance broke'));
    const line = Buffer.from(JSON.stringify(req) + '\n');
    // The agent closes a WebSocket on a message past its limit (1 MiB), which would take every
    // call on the stream with it; a line goes in pieces, in order (nothing else writes between).
    for (let i = 0; i < line.length; i += WRITE_CHUNK) this.stream.write(line.subarray(i, i + WRITE_CHUNK));
  }

  close(why: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.stream.destroy();
    this.onClose(this, why);
  }
}

/**
 * The manager's end of one instance's shim: one long-lived stream, calls multiplexed on it by an
 * `id` the shim echoes in its answer (any number in flight; the pool bounds them by the function's
 * concurrency). A stream that breaks fails the calls sent on it and the next call opens a new one.
 * A shim that answers without the `id` (one built before it multiplexed: one call per connection,
 * then it closes) gets a connection per call from then on.
 */
export class ShimClient {
  private shared: Conn | null = null;
  private opening: Promise<Conn> | null = null;
  private seq = 0;
  private disposed = false;
  /** The shim answers one call per connection (it never echoes the id). */
  legacy = false;

  constructor(private readonly connect: ShimConnect) {}

  /**
   * One request; resolves with the shim's answer. Rejects with ShimTimeout past `timeoutMs`
   * (counted from now, connecting included: the caller recycles the instance), or with the
   * reason the stream broke.
   */
  call<T>(req: Record<string, unknown>, timeoutMs: number): Promise<T> {
    if (this.disposed) return Promise.reject(closedError('the instance was stopped'));
    const id = String(++this.seq);
    return new Promise<T>((resolve, reject) => {
      let conn: Conn | null = null;
      let done = false;
      const p: Pending = {
        resolve: (v) => {
          done = true;
          clearTimeout(p.timer);
          resolve(v as T);
        },
        reject: (e) => {
          done = true;
          clearTimeout(p.timer);
          reject(e);
        },
        timer: setTimeout(() => {
          conn?.pending.delete(id);
          // A one-call connection has nothing else on it; a shared one stays for the others.
          if (conn && conn !== this.shared) conn.close(new Error('timed out'));
          p.reject(new ShimTimeout(`no answer within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.connFor().then(
        (c) => {
          if (done) {
            if (c !== this.shared) c.close(new Error('not needed'));
            return;
          }
          if (c.closed) return p.reject(closedError('the connection to the instance broke'));
          conn = c;
          c.pending.set(id, p);
          c.send({ ...req, id });
        },
        (e: Error) => p.reject(e),
      );
    });
  }

  /** Stops: the stream closes and what waits on it fails. */
  close(): void {
    this.disposed = true;
    this.shared?.close(closedError('the instance was stopped'));
    this.shared = null;
  }

  /** The shared connection (opened once for everyone waiting), or a new one per call for a legacy shim. */
  private connFor(): Promise<Conn> {
    if (this.legacy) return this.open();
    if (this.shared?.stream.destroyed) {
      // Broken while idle (its 'close' may still be on its way): nothing was sent on it, open anew.
      this.shared.close(new Error('the connection to the instance broke'));
    }
    if (this.shared && !this.shared.closed) return Promise.resolve(this.shared);
    if (!this.opening) {
      this.opening = this.open().then(
        (c) => {
          this.opening = null;
          if (this.disposed) {
            c.close(closedError('the instance was stopped'));
          } else if (!this.legacy) this.shared = c;
          return c;
        },
        (e: Error) => {
          this.opening = null;
          throw e;
        },
      );
    }
    return this.opening;
  }

  private async open(): Promise<Conn> {
    const stream = await this.connect();
    return new Conn(
      stream,
      (conn, answer) => this.answered(conn, answer),
      (conn, why) => {
        if (this.shared === conn) this.shared = null;
        const err = closedError(why.message);
        for (const p of conn.pending.values()) p.reject(err);
        conn.pending.clear();
      },
    );
  }

  private answered(conn: Conn, answer: Record<string, unknown>): void {
    const { id, ...rest } = answer;
    if (typeof id === 'string') {
      const p = conn.pending.get(id);
      conn.pending.delete(id);
      p?.resolve(rest);
      return;
    }
    // No id: a shim from before multiplexing. It answered the one call its connection carried
    // (callers of a fresh client send one call first, the readiness ping) and now closes.
    this.legacy = true;
    if (this.shared === conn) this.shared = null;
    const [first] = conn.pending.entries();
    if (first) {
      conn.pending.delete(first[0]);
      first[1].resolve(rest);
    }
    conn.close(new Error('the shim answers one call per connection'));
  }
}
