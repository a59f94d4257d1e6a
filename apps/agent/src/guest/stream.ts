import { EventEmitter } from 'node:events';
import { DATA_CHUNK_BYTES, FrameType, STREAM_WINDOW_BYTES, type GuestResult } from '@hearth/contract';
import { GuestError } from './errors.ts';

type Send = (type: FrameType, payload?: Buffer | string | object) => Promise<void>;

/** Grants credit back to the guest once this much was consumed (fewer, larger WINDOW frames). */
const GRANT_BATCH = STREAM_WINDOW_BYTES / 4;

export interface StreamCredit {
  /** Sends a WINDOW frame granting `bytes` more to the guest on this stream. */
  grant: (bytes: number) => void;
}

/**
 * One request stream on a guest connection. Emits `stdout`/`stderr` (Buffer) and `event`
 * (object) until the guest's RESULT settles `result`; a dropped connection rejects it.
 *
 * With credit (the session negotiated it, `credit` is set) the guest may have at most
 * STREAM_WINDOW_BYTES of output in flight on this stream. By default output counts as consumed
 * as soon as it is emitted; a consumer that forwards it somewhere slower calls `holdCredit()`
 * first and `consumed(n)` once each chunk has moved on, so a slow client stops the guest's
 * producer instead of growing this process's memory. Input (`write`) waits for the guest's
 * grants the same way.
 */
export class GuestStream extends EventEmitter {
  readonly result: Promise<GuestResult>;
  private settle!: (r: GuestResult) => void;
  private reject!: (e: Error) => void;
  private settled = false;
  /** Output bytes the guest sent that were not granted back yet (held + pending grant). */
  private inFlight = 0;
  private held = 0;
  private pendingGrant = 0;
  private manual = false;
  /** Input bytes the guest still accepts. */
  private sendCredit = STREAM_WINDOW_BYTES;

  constructor(
    readonly id: number,
    readonly send: Send,
    private readonly credit: StreamCredit | null = null,
  ) {
    super();
    this.result = new Promise((resolve, reject) => {
      this.settle = resolve;
      this.reject = reject;
    });
    this.result.catch(() => undefined);
  }

  get done(): boolean {
    return this.settled;
  }

  /** Output bytes handed to the consumer and not yet consumed (what this stream holds in memory). */
  get bufferedBytes(): number {
    return this.held;
  }

  /** Whether the guest overran its credit (the connection then drops it: a protocol error). */
  received(n: number): boolean {
    if (!this.credit) return true;
    this.inFlight += n;
    return this.inFlight <= STREAM_WINDOW_BYTES;
  }

  push(kind: 'stdout' | 'stderr' | 'event', data: Buffer | Record<string, unknown>): void {
    const bytes = Buffer.isBuffer(data) ? data.length : 0;
    if (this.settled || !this.manual || !bytes) {
      if (!this.settled) this.emit(kind, data);
      if (bytes) this.release(bytes);
      return;
    }
    this.held += bytes;
    this.emit(kind, data);
  }

  /** From now on output counts as consumed only when `consumed` says so. */
  holdCredit(): void {
    this.manual = true;
  }

  /** The consumer moved `n` bytes of output on: the guest may send that much more. */
  consumed(n: number): void {
    if (!this.manual) return;
    this.held = Math.max(0, this.held - n);
    this.release(n);
  }

  /** The consumer went away: drop output as it comes and let the guest's producer run to its end. */
  discard(): void {
    if (!this.manual) return;
    this.manual = false;
    const n = this.held;
    this.held = 0;
    this.pendingGrant += n;
    this.flushGrant(true);
  }

  private release(n: number): void {
    if (!this.credit) return;
    this.pendingGrant += n;
    // Batching cannot stall the guest: it waits only with a full window in flight, and then
    // either the pending grant is a full batch or the consumer still holds the rest.
    this.flushGrant(false);
  }

  private flushGrant(force: boolean): void {
    if (!this.credit || this.pendingGrant === 0) return;
    if (!force && this.pendingGrant < GRANT_BATCH) return;
    const n = this.pendingGrant;
    this.pendingGrant = 0;
    this.inFlight -= n;
    this.credit.grant(n);
  }

  /** The guest granted `n` more input bytes (a WINDOW frame). */
  addSendCredit(n: number): void {
    this.sendCredit += n;
    this.emit('credit');
  }

  finish(r: GuestResult): void {
    if (this.settled) return;
    this.settled = true;
    this.held = 0;
    this.emit('credit');
    this.settle(r);
  }

  fail(e: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.held = 0;
    this.emit('credit');
    this.reject(e);
  }

  private waitCredit(): Promise<void> {
    return new Promise((resolve) => this.once('credit', () => resolve()));
  }

  /**
   * Sends stdin (or upload) bytes in protocol-sized chunks, waiting for the socket to drain and,
   * with credit, for the guest to grant room.
   */
  async write(data: Buffer): Promise<void> {
    let i = 0;
    while (i < data.length && !this.settled) {
      let n = Math.min(DATA_CHUNK_BYTES, data.length - i);
      if (this.credit) {
        if (this.sendCredit <= 0) {
          await this.waitCredit();
          continue;
        }
        n = Math.min(n, this.sendCredit);
        this.sendCredit -= n;
      }
      await this.send(FrameType.STDIN, data.subarray(i, i + n));
      i += n;
    }
  }

  end(): Promise<void> {
    return this.settled ? Promise.resolve() : this.send(FrameType.STDIN_EOF);
  }

  control(msg: Record<string, unknown>): Promise<void> {
    return this.settled ? Promise.resolve() : this.send(FrameType.CONTROL, msg);
  }

  /** The result's fields when ok; a GuestError with the guest's code otherwise. */
  async wait(timeoutMs: number): Promise<Record<string, unknown>> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        void this.control({ type: 'cancel' });
        this.fail(
          new GuestError('GUEST_TIMEOUT', `the guest agent did not answer within ${timeoutMs / 1000} s`),
        );
        reject(
          new GuestError('GUEST_TIMEOUT', `the guest agent did not answer within ${timeoutMs / 1000} s`),
        );
      }, timeoutMs);
      timer.unref();
    });
    try {
      const r = await Promise.race([this.result, timeout]);
      if (!r.ok)
        throw new GuestError(r.error?.code ?? 'INTERNAL', r.error?.message ?? 'the guest agent failed');
      const { ok: _ok, error: _e, ...rest } = r;
      return rest;
    } finally {
      clearTimeout(timer);
    }
  }
}
