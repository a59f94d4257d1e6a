import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import {
  encodeFrame,
  encodeWindow,
  FrameDecoder,
  frameHead,
  FrameError,
  parseJsonPayload,
  windowIncrement,
  type Frame,
} from '@hearth/contract/guest-codec';
import {
  CREDIT_FEATURE,
  FrameType,
  GUEST_PROTOCOL_VERSION,
  GuestResult,
  Welcome,
  type GuestRequest,
} from '@hearth/contract';
import { GuestError } from './errors.ts';
import { GuestStream } from './stream.ts';

/** Round trips to guest agents by op and outcome, for the agent's /metrics (metrics.ts). */
export const guestTimings = new EventEmitter<{ request: [op: string, seconds: number, ok: boolean] }>();
guestTimings.setMaxListeners(0);

export { GuestError };

/** Data payloads from this size on are written after their header rather than joined to it. */
const BIG_PAYLOAD = 16 * 1024;

const gone = () => new GuestError('GUEST_DISCONNECTED', 'the VM is no longer running');

export interface GuestConnectionOptions {
  /** Opens a fresh byte stream to the guest (the VMM instance's connectGuest). */
  connect: () => Promise<Socket>;
  secret: string;
  log: Logger;
  /** How often HELLO is repeated while the guest has not answered (it may still be booting). */
  helloEveryMs?: number;
}

/**
 * The host end of one VM's guest-agent channel: a session (HELLO → WELCOME) over a single byte
 * stream, with many request streams multiplexed on it. It reconnects by itself while not disposed;
 * a guest that breaks framing gets its connection dropped, never the agent.
 */
export class GuestConnection extends EventEmitter {
  private sock: Socket | null = null;
  private decoder = new FrameDecoder();
  private welcome: Welcome | null = null;
  /** The session negotiated per-stream credit (the guest listed it in WELCOME). */
  private credit = false;
  private readonly streams = new Map<number, GuestStream>();
  private nextStream = 1;
  private disposed = false;
  private helloTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private waiters: Array<{ resolve: (w: Welcome) => void; reject: (e: Error) => void }> = [];

  constructor(private readonly o: GuestConnectionOptions) {
    super();
    void this.dial();
  }

  get info(): Welcome | null {
    return this.welcome;
  }

  /**
   * Guest output this connection holds in memory: a partial frame in the decoder plus what each
   * stream handed to a consumer that has not moved it on. With credit it stays under
   * MAX_FRAME_BODY + open streams × STREAM_WINDOW_BYTES whatever the guest sends.
   */
  get bufferedBytes(): number {
    let n = this.decoder.buffered;
    for (const s of this.streams.values()) n += s.bufferedBytes;
    return n;
  }

  /** Whether the session negotiated per-stream credit. */
  get hasCredit(): boolean {
    return this.credit;
  }

  /**
   * Resolves with the guest's WELCOME once a session is up (now or later); rejects when `signal`
   * aborts or the connection is disposed.
   */
  ready(signal?: AbortSignal): Promise<Welcome> {
    if (this.welcome) return Promise.resolve(this.welcome);
    if (this.disposed) return Promise.reject(gone());
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (w: Welcome) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(w);
        },
        reject: (e: Error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      const onAbort = () => {
        this.waiters = this.waiters.filter((x) => x !== waiter);
        reject(signal!.reason instanceof Error ? signal!.reason : new Error('aborted'));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /**
   * Waits, at most `timeoutMs`, for a session: the channel drops and comes back by itself when
   * the VMM resets it (Firecracker does on every snapshot), on a restore and on an agent restart,
   * and a call arriving meanwhile should wait for it rather than fail. Past the bound it fails
   * with the retryable GUEST_RECONNECTING.
   */
  async connected(timeoutMs: number): Promise<void> {
    if (this.welcome) return;
    const ac = new AbortController();
    const timer = setTimeout(
      () =>
        ac.abort(
          new GuestError(
            'GUEST_RECONNECTING',
            `the guest agent channel did not reconnect within ${timeoutMs / 1000} s`,
          ),
        ),
      timeoutMs,
    );
    try {
      await this.ready(ac.signal);
    } finally {
      clearTimeout(timer);
    }
  }

  private async dial(): Promise<void> {
    if (this.disposed) return;
    let sock: Socket;
    try {
      sock = await this.o.connect();
    } catch (e) {
      this.o.log.debug({ err: (e as Error).message }, 'guest channel connect failed; retrying');
      return this.retry(250);
    }
    if (this.disposed) {
      sock.destroy();
      return;
    }
    this.sock = sock;
    this.decoder = new FrameDecoder();
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
    sock.on('error', () => undefined);
    sock.on('close', () => this.onClose(sock));
    const hello = () =>
      sock.write(
        encodeFrame(0, FrameType.HELLO, {
          protocol: GUEST_PROTOCOL_VERSION,
          secret: this.o.secret,
          features: [CREDIT_FEATURE],
        }),
      );
    hello();
    this.helloTimer = setInterval(() => {
      if (!this.welcome) hello();
    }, this.o.helloEveryMs ?? 250);
    this.helloTimer.unref();
  }

  private retry(ms: number): void {
    if (this.disposed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.dial();
    }, ms);
    this.retryTimer.unref();
  }

  private onData(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
      for (const f of frames) this.onFrame(f);
    } catch (e) {
      this.o.log.warn({ err: (e as Error).message }, 'guest broke the protocol; dropping the connection');
      this.sock?.destroy();
    }
  }

  private onFrame(f: Frame): void {
    if (f.stream === 0) {
      if (f.type === FrameType.WELCOME) {
        const w = Welcome.safeParse(parseJsonPayload(f));
        if (!w.success) throw new FrameError('WELCOME does not match the protocol');
        this.decoder.synced = true;
        this.welcome = w.data;
        this.credit = w.data.capabilities.includes(CREDIT_FEATURE);
        if (this.helloTimer) clearInterval(this.helloTimer);
        this.helloTimer = null;
        const waiters = this.waiters;
        this.waiters = [];
        for (const x of waiters) x.resolve(w.data);
        this.emit('ready', w.data);
      } else if (f.type === FrameType.RESULT) {
        const r = parseJsonPayload(f) as { error?: { message?: string } };
        this.o.log.warn({ error: r.error?.message }, 'guest refused the session');
        this.emit('refused', r.error?.message ?? 'refused');
      }
      return;
    }
    if (!this.welcome) return; // nothing is valid before the session is up
    const s = this.streams.get(f.stream);
    const data = f.type === FrameType.STDOUT || f.type === FrameType.STDERR;
    if (!s) {
      // A late frame for a stream we gave up on: its bytes are dropped, so its credit comes back
      // at once and the guest's producer runs to its end instead of waiting for ever.
      if (data && this.credit && f.payload.length) this.sock?.write(encodeWindow(f.stream, f.payload.length));
      return;
    }
    if (data && !s.received(f.payload.length)) {
      throw new FrameError(`the guest overran its credit on stream ${f.stream}`);
    }
    switch (f.type) {
      case FrameType.STDOUT:
        return s.push('stdout', f.payload);
      case FrameType.STDERR:
        return s.push('stderr', f.payload);
      case FrameType.WINDOW:
        if (!this.credit) throw new FrameError('WINDOW without the credit feature');
        return s.addSendCredit(windowIncrement(f));
      case FrameType.EVENT:
        return s.push('event', parseJsonPayload(f));
      case FrameType.RESULT: {
        const r = GuestResult.safeParse(parseJsonPayload(f));
        if (!r.success) throw new FrameError('RESULT does not match the protocol');
        this.streams.delete(f.stream);
        return s.finish(r.data);
      }
      default:
        throw new FrameError(`the guest sent host-only frame type ${f.type}`);
    }
  }

  private onClose(sock: Socket): void {
    if (this.sock !== sock) return;
    this.sock = null;
    this.welcome = null;
    this.credit = false;
    if (this.helloTimer) clearInterval(this.helloTimer);
    this.helloTimer = null;
    for (const s of this.streams.values())
      s.fail(new GuestError('GUEST_DISCONNECTED', 'the guest agent connection closed'));
    this.streams.clear();
    this.emit('disconnected');
    this.retry(200);
  }

  /** Opens a request stream. Fails at once when no session is up. */
  open(req: GuestRequest): GuestStream {
    const sock = this.sock;
    if (!sock || !this.welcome) {
      throw new GuestError(
        'GUEST_UNAVAILABLE',
        'the guest agent is not connected (still booting, or not running)',
      );
    }
    const id = this.nextStream++;
    const credit = this.credit
      ? {
          grant: (bytes: number) => {
            if (this.sock === sock && !sock.destroyed) sock.write(encodeWindow(id, bytes));
          },
        }
      : null;
    const stream = new GuestStream(
      id,
      (type, payload) => {
        if (this.sock !== sock || sock.destroyed) return Promise.resolve();
        let ok: boolean;
        if (Buffer.isBuffer(payload) && payload.length >= BIG_PAYLOAD) {
          // Header and payload leave in one writev: the payload is not copied into a joined frame.
          sock.cork();
          sock.write(frameHead(id, type, payload.length));
          ok = sock.write(payload);
          sock.uncork();
        } else ok = sock.write(encodeFrame(id, type, payload));
        if (ok) return Promise.resolve();
        // A socket that dies never drains: give up on close too, or writers would wait forever.
        return new Promise<void>((resolve) => {
          const done = () => {
            sock.off('drain', done);
            sock.off('close', done);
            resolve();
          };
          sock.once('drain', done);
          sock.once('close', done);
        });
      },
      credit,
    );
    this.streams.set(id, stream);
    const forget = () => {
      if (this.streams.get(id) === stream) this.streams.delete(id);
    };
    stream.result.then(forget, forget);
    void stream.send(FrameType.REQUEST, req);
    return stream;
  }

  /** One request, one result: resolves with the result fields, rejects with a GuestError. */
  async request<T = Record<string, unknown>>(req: GuestRequest, timeoutMs = 30_000): Promise<T> {
    const s = this.open(req);
    const t0 = performance.now();
    const done = (ok: boolean) => guestTimings.emit('request', req.op, (performance.now() - t0) / 1000, ok);
    try {
      const out = (await s.wait(timeoutMs)) as T;
      done(true);
      return out;
    } catch (e) {
      done(false);
      throw e;
    }
  }

  /** Drops the connection and stops reconnecting. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.helloTimer) clearInterval(this.helloTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const sock = this.sock;
    this.sock = null;
    this.welcome = null;
    for (const s of this.streams.values()) s.fail(gone());
    this.streams.clear();
    const waiters = this.waiters;
    this.waiters = [];
    for (const x of waiters) x.reject(gone());
    sock?.destroy();
  }
}
