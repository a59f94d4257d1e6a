import { Duplex } from 'node:stream';

/** The part of a `ws` WebSocket a PortStream uses (the contract does not depend on `ws`). */
export interface PortSocket {
  readonly readyState: number;
  send(data: Buffer | string, options: { binary: boolean }, cb?: (err?: Error) => void): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  pause(): void;
  resume(): void;
  on(event: 'message', fn: (data: Buffer, isBinary: boolean) => void): unknown;
  on(event: 'open', fn: () => void): unknown;
  on(event: 'close', fn: (code: number, reason: Buffer) => void): unknown;
  on(event: 'error', fn: (e: Error) => void): unknown;
  once(event: 'open' | 'close', fn: () => void): unknown;
}

const CONNECTING = 0;
const OPEN = 1;

/** A failure the server reported on the stream (a catalogue code and its message). */
export class PortStreamError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PortStreamError';
  }
}

/**
 * A port stream's WebSocket (GET /v1/vms/{id}/ports/{port}/stream) as a Node Duplex, so a TCP
 * socket can be piped to it and an HTTP client can run over it: `end()` half-closes the guest
 * connection ({"type":"eof"}), the guest server's end of data ends the readable side. Back-pressure
 * both ways: a write completes once the socket took it, and a full readable buffer pauses the
 * WebSocket (so the agent, then the guest, stop sending).
 */
export class PortStream extends Duplex {
  private eof = false;

  constructor(private readonly ws: PortSocket) {
    super({ allowHalfOpen: true });
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        if (!this.eof && !this.push(data)) ws.pause();
        return;
      }
      let msg: { type?: string; code?: string; message?: string };
      try {
        msg = JSON.parse(data.toString('utf8')) as typeof msg;
      } catch {
        return;
      }
      if (msg.type === 'connected') this.emit('connected');
      else if (msg.type === 'eof') this.endReadable();
      else if (msg.type === 'error')
        this.destroy(new PortStreamError(msg.code ?? 'INTERNAL', msg.message ?? 'The stream failed.'));
    });
    ws.on('close', (code, reason) => {
      this.endReadable();
      if (code === 1000) {
        // Both sides are done (or the guest connection was reset): nothing more can be written.
        if (reason.toString() === 'reset')
          this.destroy(new PortStreamError('RESET', 'The connection was reset.'));
        else if (!this.writableFinished) this.destroy();
        else if (this.readableEnded) this.destroy();
        else this.once('end', () => this.destroy());
      } else if (!this.destroyed) {
        this.destroy(new PortStreamError('CLOSED', `The stream closed (${code} ${reason.toString()}).`));
      }
    });
    ws.on('error', (e) => this.destroy(e));
  }

  private endReadable(): void {
    if (this.eof) return;
    this.eof = true;
    this.push(null);
  }

  private whenOpen(fn: (err?: Error) => void): void {
    if (this.ws.readyState === OPEN) return fn();
    if (this.ws.readyState !== CONNECTING) return fn(new PortStreamError('CLOSED', 'The stream is closed.'));
    const onOpen = () => fn();
    this.ws.once('open', onOpen);
  }

  override _read(): void {
    this.ws.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.whenOpen((err) => (err ? cb(err) : this.ws.send(chunk, { binary: true }, (e) => cb(e ?? null))));
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.whenOpen((err) =>
      err ? cb(err) : this.ws.send(JSON.stringify({ type: 'eof' }), { binary: false }, (e) => cb(e ?? null)),
    );
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.ws.readyState === OPEN) this.ws.close(1000);
    else if (this.ws.readyState === CONNECTING) this.ws.terminate();
    cb(err);
  }
}
