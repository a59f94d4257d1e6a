import { PassThrough, Readable, type Stream } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';

/** What to do with a stream's error; the default drops it (see `guard`). */
export type OnStreamError = (err: Error) => void;

const dropError: OnStreamError = () => undefined;

/**
 * Gives a stream an `'error'` listener from birth. A Node stream that fails with no listener
 * throws from the event loop and ends the whole process, and a stream is often created before
 * whatever consumes it (Fastify's reply, `pipeline`) is attached, or never consumed when the
 * route fails first. Consumers add their own listeners; this one only keeps an unconsumed
 * failure from being fatal. Where the failure is not reported elsewhere, pass `onError`.
 *
 * The manager and agent create streams only through this module (an eslint rule says so).
 */
export function guard<T extends Stream>(stream: T, onError: OnStreamError = dropError): T {
  stream.on('error', onError);
  return stream;
}

/** A guarded PassThrough: the body of a streamed response filled from events. */
export function passThrough(onError?: OnStreamError): PassThrough {
  return guard(new PassThrough(), onError);
}

/** A guarded Node stream over a fetch body (an agent's streamed answer relayed to a client). */
export function fromWeb(body: ReadableStream | globalThis.ReadableStream, onError?: OnStreamError): Readable {
  return guard(Readable.fromWeb(body as ReadableStream), onError);
}

/**
 * Sends a streamed response's status and headers as soon as the body is attached instead of
 * with its first chunk (Fastify defers them so a failing stream can still turn into an error).
 * A follow that has nothing to say yet must still answer at once, or every hop on the way waits
 * for headers and gives up after its own timeout.
 */
export function flushHeadersOnPipe(res: {
  once(ev: 'pipe', fn: () => void): unknown;
  flushHeaders(): void;
}): void {
  res.once('pipe', () => res.flushHeaders());
}

/** A guarded byte stream read from an async iterable of chunks (a generator that encodes or relays). */
export function fromIterable(source: AsyncIterable<Buffer>, onError?: OnStreamError): Readable {
  return guard(Readable.from(source, { objectMode: false }), onError);
}
