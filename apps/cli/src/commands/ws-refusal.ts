import type { IncomingMessage } from 'node:http';
import { HearthError } from '@hearth/contract';

/**
 * When the manager refuses a WebSocket upgrade, `ws` hands over the HTTP answer: this turns it
 * into the error it carries (the catalogue's envelope), or a plain error naming the status.
 */
export function onRefusedUpgrade(
  ws: { on(event: 'unexpected-response', cb: (req: unknown, res: IncomingMessage) => void): unknown },
  what: string,
  fail: (e: Error) => void,
): void {
  ws.on('unexpected-response', (_req, res) => {
    let text = '';
    res.on('data', (d: Buffer) => (text += d.toString()));
    res.on('end', () => {
      try {
        const body = JSON.parse(text) as { error: { code: string; message: string } };
        fail(HearthError.fromEnvelope(res.statusCode ?? 500, body as never));
      } catch {
        fail(new Error(`Opening ${what} failed with HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
      }
    });
  });
}
