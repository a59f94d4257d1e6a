import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { agentRoutes, PortStreamMessage } from '@hearth/contract';
import type { Supervisor } from '../vm/index.ts';
import { GuestError } from '../guest/errors.ts';
import type { GuestStream } from '../guest/stream.ts';
import { sendWsError as sendError, serveWs, wsBytes as asBuffer } from '../http.ts';

/**
 * Bytes from the client this agent holds for one stream before it stops reading the socket: the
 * guest's credit already bounds what is in flight to it, this bounds what waits for that credit.
 */
const MAX_QUEUED_INPUT = 1024 * 1024;

/** Resolves once the guest connected, or rejects with its reason (CONNECT_FAILED, …). */
function connected(s: GuestStream): Promise<void> {
  return new Promise((resolve, reject) => {
    s.on('event', (ev: Record<string, unknown>) => {
      if (ev.type === 'connected') resolve();
    });
    s.result.then(
      (r) =>
        r.ok ? resolve() : reject(new GuestError(r.error?.code ?? 'INTERNAL', r.error?.message ?? 'failed')),
      reject,
    );
  });
}

/**
 * One TCP connection into the guest per WebSocket (binary messages both ways; PortStreamMessage
 * text messages for connect, half-close and errors). Back-pressure end to end: output is credited
 * back to the guest once the socket took it, and input beyond MAX_QUEUED_INPUT pauses the socket.
 */
export function portRoutes(app: FastifyInstance, sup: Supervisor): void {
  serveWs(app, agentRoutes.portStream, async (ws, { params: { id, port }, query }) => {
    // What the client sends while the guest connects is kept, in order.
    const early: Array<[Buffer, boolean]> = [];
    const keep = (data: unknown, isBinary: boolean) => early.push([asBuffer(data), isBinary]);
    ws.on('message', keep);
    let s: GuestStream;
    try {
      const guest = await sup.guest(id);
      if (ws.readyState !== ws.OPEN) return;
      s = guest.open({ op: 'tcp.connect', port, ...(query.host ? { host: query.host } : {}) });
      ws.once('close', () => {
        s.discard();
        if (!s.done) void s.control({ type: 'cancel' });
      });
      await connected(s);
    } catch (e) {
      return sendError(ws, e);
    }
    ws.off('message', keep);
    relay(ws, s, early);
  });
}

function relay(ws: WebSocket, s: GuestStream, early: Array<[Buffer, boolean]>): void {
  const text = (m: PortStreamMessage) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(m));
  text({ type: 'connected' });
  s.holdCredit();
  s.on('stdout', (b: Buffer) => {
    if (ws.readyState !== ws.OPEN) return s.consumed(b.length);
    ws.send(b, () => s.consumed(b.length));
  });
  s.on('event', (ev: Record<string, unknown>) => {
    // After the bytes before it: ws sends in order.
    if (ev.type === 'eof') text({ type: 'eof' });
  });
  s.result.then(
    (r) => {
      if (!r.ok) return sendError(ws, new GuestError(r.error?.code ?? 'INTERNAL', r.error?.message ?? ''));
      ws.close(1000, r.reset ? 'reset' : 'done');
    },
    (e: unknown) => sendError(ws, e),
  );
  // One chain: input reaches the guest in order; the socket pauses while too much waits.
  let chain: Promise<void> = Promise.resolve();
  let queued = 0;
  let paused = false;
  const onMessage = (data: unknown, isBinary: boolean) => {
    const bytes = asBuffer(data);
    if (!isBinary) {
      let msg: { type?: string } = {};
      try {
        msg = JSON.parse(bytes.toString('utf8')) as { type?: string };
      } catch {
        return; // not a control message: ignored, not fatal
      }
      if (msg.type === 'eof') chain = chain.then(() => s.end()).catch(() => undefined);
      return;
    }
    queued += bytes.length;
    if (queued > MAX_QUEUED_INPUT && !paused) {
      paused = true;
      ws.pause();
    }
    chain = chain
      .then(() => s.write(bytes))
      .catch(() => undefined)
      .finally(() => {
        queued -= bytes.length;
        if (paused && queued <= MAX_QUEUED_INPUT / 2) {
          paused = false;
          ws.resume();
        }
      });
  };
  for (const [data, isBinary] of early.splice(0)) onMessage(data, isBinary);
  ws.on('message', onMessage);
}
