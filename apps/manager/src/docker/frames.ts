/** Docker's stream ids in a multiplexed (non-TTY) stream (0, stdin, never travels this way). */

export const STDOUT = 1;
export const STDERR = 2;

/**
 * One frame of Docker's multiplexed stream: a stream id byte, three zero bytes, the payload
 * length (big-endian uint32), then the payload. The client splits stdout from stderr by it.
 */
export function frame(stream: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

/** Docker's `since`/`until`: unix seconds with an optional fraction ("1733380000.123456789"). */
export function dockerTime(v: string | undefined): string | undefined {
  if (!v || v === '0') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return new Date(Number(v) * 1000).toISOString();
  return v;
}

/** RFC 3339 with nanoseconds, as `docker logs -t` prints it. */
export function dockerTimestamp(iso: string): string {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(iso);
  if (!m) return iso;
  return `${m[1]}.${(m[2] ?? '').padEnd(9, '0').slice(0, 9)}Z`;
}
