import type { FastifyInstance } from 'fastify';
import { agentRoutes, ShellClientMessage } from '@hearth/contract';
import type { Supervisor } from '../vm/index.ts';
import { ConsoleHub } from '../console-hub.ts';
import { GuestError } from '../guest/errors.ts';
import { sendWsError as sendError, serveWs, wsBytes as asBuffer } from '../http.ts';
import { exitOf } from './exec.ts';

/** Serial console and PTY shell WebSockets. Binary frames are terminal bytes; text frames are JSON control. */
export function wsRoutes(app: FastifyInstance, sup: Supervisor): { dispose(): void } {
  const hubs = new Map<string, ConsoleHub>();

  serveWs(app, agentRoutes.console, (ws, { params: { id } }) => {
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
    // A log that cannot be read (removed with its VM meanwhile) ends this viewer, nothing else.
    h.join(viewer).catch((e: unknown) => sendError(ws, e));
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

  serveWs(app, agentRoutes.shell, async (ws, { params: { id }, query }) => {
    // Keystrokes typed while a reconnecting guest channel is awaited are kept, in order.
    const early: Array<[Buffer, boolean]> = [];
    const keep = (data: unknown, isBinary: boolean) => early.push([asBuffer(data), isBinary]);
    ws.on('message', keep);
    let s;
    try {
      const guest = await sup.guest(id);
      if (ws.readyState !== ws.OPEN) return;
      s = guest.open({
        op: 'exec',
        ...(query.command ? { command: query.command } : {}),
        ...(query.user ? { user: query.user } : {}),
        pty: { cols: query.cols, rows: query.rows },
        stdin: true,
        tag: 'shell',
      });
    } catch (e) {
      return sendError(ws, e);
    }
    const stream = s;
    // Credited back once the socket took it: a terminal flooded faster than its viewer reads
    // stops the process instead of growing this agent's memory.
    stream.holdCredit();
    stream.on('stdout', (b: Buffer) => {
      if (ws.readyState !== ws.OPEN) return stream.consumed(b.length);
      ws.send(b, () => stream.consumed(b.length));
    });
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
    const onMessage = (data: unknown, isBinary: boolean) => {
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
    };
    ws.off('message', keep);
    for (const [data, isBinary] of early.splice(0)) onMessage(data, isBinary);
    ws.on('message', onMessage);
    ws.on('close', () => {
      // The terminal went away: hang up the shell, as a real terminal would.
      stream.discard();
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
