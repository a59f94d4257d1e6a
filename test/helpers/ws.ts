import { WebSocket } from 'ws';
import { until } from './vm.ts';

/** A test client for Hearth's terminal WebSockets: collects output, types, waits for text. */
export async function openTerminal(target: { url: string; headers: Record<string, string> }) {
  const ws = new WebSocket(target.url, { headers: target.headers });
  let out = '';
  const control: Array<Record<string, unknown>> = [];
  let closed: { code: number } | null = null;
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) out += data.toString('utf8');
    else control.push(JSON.parse(data.toString()) as Record<string, unknown>);
  });
  ws.on('close', (code) => (closed = { code }));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  const expect = (re: RegExp, timeoutMs = 30_000) =>
    until(`terminal output ${re}`, () => re.test(out), timeoutMs).catch((e: Error) => {
      throw new Error(`${e.message}; output so far: ${JSON.stringify(out.slice(-600))}`);
    });
  return {
    type: (text: string) => ws.send(Buffer.from(text), { binary: true }),
    control: (msg: Record<string, unknown>) => ws.send(JSON.stringify(msg)),
    expect,
    output: () => out,
    /** Forgets output so far, so the next expect only sees what follows. */
    mark: () => (out = ''),
    messages: control,
    closed: () => closed,
    close: () => ws.close(),
  };
}

/** Expects a WebSocket upgrade to be refused; returns the HTTP status and error envelope. */
export function refusedUpgrade(target: { url: string; headers: Record<string, string> }) {
  return new Promise<{ status: number; body: { error: { code: string; message: string } } }>(
    (resolve, reject) => {
      const ws = new WebSocket(target.url, { headers: target.headers });
      ws.once('open', () => {
        ws.close();
        reject(new Error('the upgrade was accepted'));
      });
      ws.once('unexpected-response', (_req, res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      });
      ws.once('error', () => undefined);
    },
  );
}
