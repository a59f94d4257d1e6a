import type { FastifyInstance, FastifyRequest } from 'fastify';
import { WebSocket } from 'ws';
import { agentPath, HearthError, routes, validationError, type RouteDef } from '@hearth/contract';
import type { z } from 'zod';
import { admit, checkText } from '../http.ts';
import type { AppServices } from '../app.ts';
import { accessTarget } from './vm-access.ts';
import { TICKET_PARAM } from '../auth/tickets.ts';

type Target = Awaited<ReturnType<ReturnType<typeof accessTarget>>>;
interface WsState {
  target: Target;
  params: Record<string, unknown>;
  query: Record<string, unknown>;
}
const states = new WeakMap<FastifyRequest, WsState>();

/** Bytes a relayed socket may have unsent before the other side stops being read. */
const RELAY_HIGH_WATER = 1024 * 1024;

/** Close codes a server may send; anything else (1005, 1006, …) becomes a normal close. */
const closeCode = (code: number) =>
  code === 1000 || code === 1011 || (code >= 3000 && code < 5000) ? code : 1000;

/**
 * A WebSocket route whose plain GET (no `Upgrade: websocket`) is answered with the envelope,
 * not the plugin's bare 404.
 */
function wsRoute(
  app: FastifyInstance,
  url: string,
  preValidation: (req: FastifyRequest) => Promise<void>,
  wsHandler: (socket: WebSocket, req: FastifyRequest) => void,
): void {
  app.route({
    method: 'GET',
    url,
    preValidation,
    handler: async (req) => {
      throw new HearthError(
        'WEBSOCKET_REQUIRED',
        `Opening ${req.url.split('?')[0]} failed: it is a WebSocket; connect with \`Upgrade: websocket\`.`,
      );
    },
    wsHandler,
  });
}

/**
 * WebSockets into a VM (console, shell, metrics). Auth and the VM lookup happen before the
 * upgrade, so a bad credential or an unknown VM is an ordinary HTTP error with the usual envelope.
 * The socket is then relayed to the VM's own channel on its host's agent and nowhere else.
 */
export function vmWsRoutes(app: FastifyInstance, deps: AppServices): void {
  const target = accessTarget(deps.stores);

  const prepare = (route: RouteDef, anyState: boolean) => async (req: FastifyRequest) => {
    // Bearer header, session cookie, or (browsers cannot set headers on a WebSocket) a
    // single-use ?ticket=, which the Authority's ticket reader redeems. Never a token in the URL.
    const { project } = await admit(deps.auth, req, route);
    const q = { ...(req.query as Record<string, unknown>) };
    delete q[TICKET_PARAM];
    checkText(req.params, 'path');
    checkText(q, 'query');
    const params = (route.params as z.ZodType).safeParse(req.params);
    if (!params.success) throw validationError('the request path', params.error.issues);
    let query: Record<string, unknown> = {};
    if (route.query) {
      const parsed = route.query.safeParse(q);
      if (!parsed.success) throw validationError('the request query', parsed.error.issues);
      query = parsed.data as Record<string, unknown>;
    }
    // The VM is looked up in the request's project: another project's VM is VM_NOT_FOUND.
    const vmId = (params.data as { id: string }).id;
    states.set(req, { target: await target(vmId, project, anyState), params: params.data as never, query });
  };

  const relay = (route: RouteDef, channel: 'console' | 'shell' | 'portStream', anyState: boolean) =>
    wsRoute(app, route.path, prepare(route, anyState), (socket, req) => {
      const { target: tg, params, query } = states.get(req)!;
      const path = agentPath(channel, { params: { ...params, id: tg.vmId } as never, query: query as never });
      const url = `${tg.host.url.replace(/^http/, 'ws')}${path}`;
      const upstream = new WebSocket(url, {
        headers: { authorization: `Bearer ${tg.host.callback_token}` },
        ...(url.startsWith('wss:') ? deps.agents.tlsFor(tg.host) : {}),
      });
      const pending: Array<[Buffer, boolean]> = [];
      upstream.on('open', () => {
        for (const [d, binary] of pending.splice(0)) upstream.send(d, { binary });
      });
      // Back-pressure both ways: a side whose peer has too much unsent stops being read, so a fast
      // writer (a port stream's upload) waits instead of growing this process's memory.
      const onward = (from: WebSocket, to: WebSocket) => {
        let unsent = 0;
        return (data: Buffer, isBinary: boolean) => {
          unsent += data.length;
          if (unsent > RELAY_HIGH_WATER) from.pause();
          to.send(data, { binary: isBinary }, () => {
            unsent -= data.length;
            if (unsent <= RELAY_HIGH_WATER / 2) from.resume();
          });
        };
      };
      const up = onward(socket, upstream);
      const down = onward(upstream, socket);
      socket.on('message', (data: Buffer, isBinary: boolean) => {
        if (upstream.readyState === WebSocket.OPEN) up(data, isBinary);
        else if (upstream.readyState === WebSocket.CONNECTING) pending.push([data, isBinary]);
      });
      upstream.on('message', (data: Buffer, isBinary: boolean) => {
        if (socket.readyState === WebSocket.OPEN) down(data, isBinary);
      });
      upstream.on('close', (code, reason) => socket.close(closeCode(code), reason));
      upstream.on('error', (e) => {
        if (socket.readyState === WebSocket.OPEN) {
          socket.send(
            JSON.stringify({
              type: 'error',
              code: 'AGENT_UNREACHABLE',
              message: `Reaching the host agent failed: ${e.message}`,
            }),
          );
          socket.close(1011, 'agent unreachable');
        }
      });
      socket.on('close', () => upstream.terminate());
    });

  relay(routes.vmConsole, 'console', true);
  relay(routes.vmShell, 'shell', false);
  relay(routes.vmPortStream, 'portStream', false);

  wsRoute(app, routes.vmMetricsStream.path, prepare(routes.vmMetricsStream, false), (socket, req) => {
    const { target: tg, query } = states.get(req)!;
    let busy = false;
    const tick = async () => {
      if (busy) return;
      busy = true;
      try {
        const m = await deps.agents.call(tg.host, 'metrics', { params: { id: tg.vmId } });
        if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(m));
      } catch (e) {
        const err = e as HearthError;
        if (socket.readyState === WebSocket.OPEN) {
          socket.send(JSON.stringify({ type: 'error', code: err.code ?? 'INTERNAL', message: err.message }));
        }
      } finally {
        busy = false;
      }
    };
    void tick();
    const timer = setInterval(() => void tick(), Number(query.interval ?? 2) * 1000);
    socket.on('close', () => clearInterval(timer));
  });
}
