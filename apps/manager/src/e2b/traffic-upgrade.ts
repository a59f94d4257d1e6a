import type { Socket } from 'node:net';
import { pipeline } from 'node:stream/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { WebSocket } from 'ws';
import { agentPath, HearthError } from '@hearth/contract';
import type { AppServices } from '../app.ts';
import { openStream } from '../routes/guest-http.ts';
import type { AccessTarget } from '../routes/vm-access.ts';

/** Whether a request asks to switch protocols (a WebSocket, say): its answer is no HTTP reply of ours. */
export function isUpgrade(req: FastifyRequest): boolean {
  const conn = req.headers.connection;
  return (
    req.method === 'GET' &&
    typeof req.headers.upgrade === 'string' &&
    typeof conn === 'string' &&
    conn
      .toLowerCase()
      .split(/\s*,\s*/)
      .includes('upgrade')
  );
}

/**
 * The bytes that came after an upgrade request's head (the WebSocket plugin keeps them on the raw
 * request under a symbol of its own); usually none, a client waits for the 101 before it sends.
 */
function headOf(req: FastifyRequest): Buffer {
  const raw = req.raw as unknown as Record<symbol, unknown>;
  const sym = Object.getOwnPropertySymbols(raw).find((s) => s.description === 'ws-head');
  const head = sym ? raw[sym] : undefined;
  return Buffer.isBuffer(head) ? head : Buffer.alloc(0);
}

export interface GuestUpgrade {
  req: FastifyRequest;
  reply: FastifyReply;
  host: Awaited<ReturnType<AccessTarget>>['host'];
  vmId: string;
  port: number;
  /** Request headers added for the guest. */
  headers: Record<string, string>;
  /** Client headers kept from the guest. */
  dropHeaders: readonly string[];
}

/**
 * An upgrade request (a WebSocket) to a server in the guest: a guest-agent TCP stream to the port
 * carries the request head as the client sent it (Upgrade and Connection included, which a proxy
 * of plain requests drops), then the bytes of both ways until either end closes. The guest's own
 * answer, 101 or a refusal, goes to the client as it is. Throws, with the reply still ours, when
 * the stream cannot be opened.
 */
export async function upgradeToGuest(deps: AppServices, o: GuestUpgrade): Promise<void> {
  const url = `${o.host.url.replace(/^http/, 'ws')}${agentPath('portStream', { params: { id: o.vmId, port: o.port }, query: {} })}`;
  const ws = new WebSocket(url, {
    headers: { authorization: `Bearer ${o.host.callback_token}` },
    ...(url.startsWith('wss:') ? deps.agents.tlsFor(o.host) : {}),
  });
  const stream = await openStream(ws).catch((e: unknown) => {
    ws.terminate();
    throw e instanceof HearthError
      ? e
      : new HearthError(
          'GUEST_PORT_UNREACHABLE',
          `Opening port ${o.port} of the guest failed: ${(e as Error).message}`,
        );
  });
  const socket = o.req.raw.socket as Socket;
  o.reply.hijack();
  const lines = [`${o.req.method} ${o.req.url} HTTP/1.1`];
  const raw = o.req.raw.rawHeaders;
  const added = new Set(Object.keys(o.headers));
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i]!.toLowerCase();
    if (o.dropHeaders.includes(k) || added.has(k)) continue;
    lines.push(`${raw[i]}: ${raw[i + 1]}`);
  }
  for (const [k, v] of Object.entries(o.headers)) lines.push(`${k}: ${v}`);
  stream.write(`${lines.join('\r\n')}\r\n\r\n`);
  const head = headOf(o.req);
  if (head.length) stream.write(head);
  // Either way's end (or failure) ends both: a WebSocket has no half-closed state worth keeping.
  const close = () => {
    stream.destroy();
    socket.destroy();
  };
  void pipeline(socket, stream).catch(close).finally(close);
  void pipeline(stream, socket).catch(close).finally(close);
}
