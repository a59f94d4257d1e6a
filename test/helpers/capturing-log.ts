import { Writable } from 'node:stream';
import pino from 'pino';

/** A debug-level pino logger that keeps every line it writes, to scan for credentials. */
export function capturingLog(): { lines: string[]; log: pino.Logger } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, log: pino({ level: 'debug' }, sink) };
}
