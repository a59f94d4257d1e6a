import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: string;
  body: string;
}

/** The most of an answer kept. */
const MAX_KEPT = 16 * 1024 * 1024;

/**
 * Sends bytes as they are over a fresh TCP connection and reads until the server closes it:
 * for requests no HTTP client would send (bad bytes, oversized headers, garbage).
 */
export function rawRequest(baseUrl: string, bytes: string | Buffer): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = connect({ host: hostname, port: Number(port) }, () => sock.write(bytes));
    let size = 0;
    let headSeen = false;
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      size += d.length;
      // What is judged is the status, headers and an error envelope: a bulk answer (a backup, a
      // file) is cut once more than that has arrived, so a 100 MB body costs no time here.
      if (size > MAX_KEPT) return void sock.destroy();
      if (headSeen) return;
      const seen = Buffer.concat(chunks).toString('latin1');
      const end = seen.indexOf('\r\n\r\n');
      if (end < 0) return;
      headSeen = true;
      // An event stream never ends by design, and an archive can be any size: the head is the answer.
      if (/\r\ncontent-type:\s*(text\/event-stream|application\/x-tar)/i.test(seen.slice(0, end)))
        sock.destroy();
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
