import { EventEmitter } from 'node:events';
import { DATA_CHUNK_BYTES, FrameType, type GuestResult } from '@hearth/contract';
import { GuestError } from './errors.ts';

type Send = (type: FrameType, payload?: Buffer | string | object) => Promise<void>;

/**
 * One request stream on a guest connection. Emits `stdout`/`stderr` (Buffer) and `event`
 * (object) until the guest's RESULT settles `result`; a dropped connection rejects it.
 */
export class GuestStream extends EventEmitter {
  readonly result: Promise<GuestResult>;
  private settle!: (r: GuestResult) => void;
  private reject!: (e: Error) => void;
  private settled = false;

  constructor(
    readonly id: number,
    readonly send: Send,
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

  push(kind: 'stdout' | 'stderr' | 'event', data: Buffer | Record<string, unknown>): void {
    if (!this.settled) this.emit(kind, data);
  }

  finish(r: GuestResult): void {
    if (this.settled) return;
    this.settled = true;
    this.settle(r);
  }

  fail(e: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(e);
  }

  /** Sends stdin (or upload) bytes in protocol-sized chunks, waiting for the socket to drain. */
  async write(data: Buffer): Promise<void> {
    for (let i = 0; i < data.length && !this.settled; i += DATA_CHUNK_BYTES) {
      await this.send(FrameType.STDIN, data.subarray(i, i + DATA_CHUNK_BYTES));
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
