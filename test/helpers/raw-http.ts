import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: string;
  body: string;
}

/**
 * Sends bytes as they are over a fresh TCP connection and reads until the server closes it:
 * for requests no HTTP client would send (bad bytes, oversized headers, garbage).
 */
export function rawRequest(baseUrl: string, bytes: string | Buffer): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = connect({ host: hostname, port: Number(port) }, () => sock.write(bytes));
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      // An event stream never ends by design: its head is the answer.
      const seen = Buffer.concat(chunks).toString('latin1');
      const end = seen.indexOf('\r\n\r\n');
      if (end >= 0 && /\r\ncontent-type:\s*text\/event-stream/i.test(seen.slice(0, end))) sock.destroy();
    });
    // The server may reset after answering; what arrived before counts.
    sock.on('error', (e) => (chunks.length ? undefined : reject(e)));
    sock.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const head = split < 0 ? text : text.slice(0, split);
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      if (!m) {
        reject(new Error(`no HTTP response, got ${JSON.stringify(text.slice(0, 200))}`));
        return;
      }
      const rest = split < 0 ? '' : text.slice(split + 4);
      const chunked = /\r\ntransfer-encoding:\s*chunked/i.test(head);
      resolve({ status: Number(m[1]), headers: head, body: chunked ? dechunk(rest) : rest });
    });
  });
}

/** Decodes a chunked body (as far as it arrived). */
function dechunk(text: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const eol = text.indexOf('\r\n', at);
    if (eol < 0) return out;
    const size = parseInt(text.slice(at, eol), 16);
    if (!size) return out;
    out += text.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}
