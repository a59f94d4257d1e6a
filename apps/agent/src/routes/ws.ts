import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { catalogueCodeForGuest, HearthError, ShellClientMessage, ShellQuery } from '@hearth/contract';
import type { Supervisor } from '../supervisor.ts';
import { ConsoleHub } from '../console-hub.ts';
import { GuestError } from '../guest/errors.ts';
import { exitOf } from './exec.ts';

const asBuffer = (data: unknown): Buffer =>
  Buffer.isBuffer(data)
    ? data
    : Array.isArray(data)
      ? Buffer.concat(data as Buffer[])
      : Buffer.from(data as ArrayBuffer);

function sendError(ws: WebSocket, e: unknown): void {
  const code =
    e instanceof GuestError ? catalogueCodeForGuest(e.code) : e instanceof HearthError ? e.code : 'INTERNAL';
  ws.send(JSON.stringify({ type: 'error', code, message: (e as Error).message }));
  ws.close(1011, 'error');
}

/** Serial console and PTY shell WebSockets. Binary frames are terminal bytes; text frames are JSON control. */
export function wsRoutes(app: FastifyInstance, sup: Supervisor): { dispose(): void } {
  const hubs = new Map<string, ConsoleHub>();

  app.get('/agent/v1/vms/:id/console', { websocket: true }, (ws, req) => {
    const id = (req.params as { id: string }).id;
    let paths: ReturnType<Supervisor['consolePaths']>;
    try {
      paths = sup.consolePaths(id);
    } catch (e) {
      return sendError(ws, e);
    }
    let hub = hubs.get(id);
    if (!hub) {
      hub = new ConsoleHub(paths.log, paths.socket);
      hubs.set(id, hub);
    }
    const h = hub;
    const viewer = { send: (b: Buffer) => ws.readyState === ws.OPEN && ws.send(b) };
    void h.join(viewer);
    ws.on('message', (data, isBinary) => {
      // Text frames are control messages (none defined for the console yet); only bytes are typed.
      if (isBinary) h.write(asBuffer(data));
    });
    ws.on('close', () => {
      h.leave(viewer);
      if (!h.size) {
        h.dispose();
        if (hubs.get(id) === h) hubs.delete(id);
      }
    });
  });

  app.get('/agent/v1/vms/:id/shell', { websocket: true }, (ws, req) => {
    const id = (req.params as { id: string }).id;
    const q = ShellQuery.safeParse(req.query);
    if (!q.success) return sendError(ws, new GuestError('BAD_REQUEST', 'cols, rows must be numbers'));
    let s;
    try {
      s = sup.guest(id).open({
        op: 'exec',
        ...(q.data.command ? { command: q.data.command } : {}),
        ...(q.data.user ? { user: q.data.user } : {}),
        pty: { cols: q.data.cols, rows: q.data.rows },
        stdin: true,
        tag: 'shell',
      });
    } catch (e) {
      return sendError(ws, e);
    }
    const stream = s;
    stream.on('stdout', (b: Buffer) => ws.readyState === ws.OPEN && ws.send(b));
    stream.result.then(
      (r) => {
        if (!r.ok) return sendError(ws, new GuestError(r.error?.code ?? 'INTERNAL', r.error?.message ?? ''));
        const x = exitOf(r);
        ws.send(JSON.stringify({ type: 'exit', exitCode: x.exitCode, signal: x.signal }));
        ws.close(1000, 'exited');
      },
      (e: unknown) => sendError(ws, e),
    );
    // One chain per socket: a large paste spans several frames and must not interleave with the next.
    let typing: Promise<void> = Promise.resolve();
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        const bytes = asBuffer(data);
        typing = typing.then(() => stream.write(bytes)).catch(() => undefined);
        return;
      }
      let msg;
      try {
        msg = ShellClientMessage.parse(JSON.parse(asBuffer(data).toString('utf8')));
      } catch {
        return; // a malformed control message is ignored, not fatal
      }
      void stream.control({ type: 'resize', cols: msg.cols, rows: msg.rows });
    });
    ws.on('close', () => {
      // The terminal went away: hang up the shell, as a real terminal would.
      if (!stream.done) void stream.control({ type: 'signal', signal: 'HUP' });
    });
  });

  return {
    dispose() {
      for (const h of hubs.values()) h.dispose();
      hubs.clear();
    },
  };
}
