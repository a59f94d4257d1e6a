import http, { type IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { WebSocket } from 'ws';
import { agentPath, errorCatalogue, HearthError, type ErrorCode } from '@hearth/contract';
import { PortStream, PortStreamError } from '@hearth/contract/port-stream';
import type { AppServices } from '../app.ts';
import type { AccessTarget } from './vm-access.ts';

/** Headers of one hop only (RFC 9110 §7.6.1), never passed on by a proxy. */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function streamError(e: unknown, port: number): HearthError {
  if (e instanceof HearthError) return e;
  if (e instanceof PortStreamError && e.code in errorCatalogue) {
    return new HearthError(e.code as ErrorCode, e.message);
  }
  return new HearthError(
    'AGENT_UNREACHABLE',
    `Opening a stream to port ${port} of the guest failed: ${(e as Error).message}`,
  );
}

/** Opens a port stream to the VM's agent and resolves once the guest connected. */
export async function openStream(ws: WebSocket): Promise<PortStream> {
  const s = new PortStream(ws);
  await new Promise<void>((resolve, reject) => {
    s.once('connected', resolve);
    s.once('error', reject);
    s.once('close', () => reject(new Error('the stream closed before it connected')));
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        try {
          const env = JSON.parse(text) as { error: { code: string; message: string } };
          reject(new PortStreamError(env.error.code, env.error.message));
        } catch {
          reject(new Error(`HTTP ${res.statusCode}`));
        }
      });
    });
  });
  s.removeAllListeners('close');
  return s;
}

export interface GuestHttp {
  req: FastifyRequest;
  reply: FastifyReply;
  /** The request body as it came (never parsed here), or none. */
  body: Readable | undefined;
  host: Awaited<ReturnType<AccessTarget>>['host'];
  vmId: string;
  port: number;
  /** Path and query as the guest's server sees them. */
  path: string;
  /** Request headers for the guest beyond the client's (the Host among them). */
  headers: Record<string, string>;
  /** A redirect to an absolute path is rewritten by this (path proxy: under its prefix). */
  location?: (v: string) => string;
  /** Client headers kept from the guest (besides hop-by-hop ones): the manager's credentials, say. */
  dropHeaders: readonly string[];
  /** Set on the answer over the guest's own. */
  answerHeaders?: Record<string, string>;
  /** Set on the answer only where the guest sent none of that name. */
  defaultHeaders?: Record<string, string>;
}

/**
 * One HTTP request to a server in the guest over a guest-agent TCP stream (one per request,
 * `Connection: close`), streamed both ways; the guest's answer is sent on `reply`.
 */
export async function proxyToGuest(deps: AppServices, o: GuestHttp): Promise<FastifyReply> {
  const { req, reply, port } = o;
  const url = `${o.host.url.replace(/^http/, 'ws')}${agentPath('portStream', { params: { id: o.vmId, port }, query: {} })}`;
  const ws = new WebSocket(url, {
    headers: { authorization: `Bearer ${o.host.callback_token}` },
    ...(url.startsWith('wss:') ? deps.agents.tlsFor(o.host) : {}),
  });
  let stream: PortStream;
  try {
    stream = await openStream(ws);
  } catch (e) {
    ws.terminate();
    throw streamError(e, port);
  }
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || o.dropHeaders.includes(k)) continue;
    headers[k] = v;
  }
  Object.assign(headers, o.headers);
  headers.connection = 'close';
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const out = http.request({ method: req.method, path: o.path, headers, createConnection: () => stream });
    out.on('response', resolve);
    out.on('error', reject);
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) stream.destroy();
    });
    const body = o.body;
    // A body that fails midway (the client went away) ends the request to the guest too.
    if (body && typeof body.pipe === 'function') pipeline(body, out).catch(() => stream.destroy());
    else out.end();
  }).catch((e: unknown) => {
    stream.destroy();
    throw new HearthError(
      'GUEST_PORT_UNREACHABLE',
      `Proxying to port ${port} of the guest failed: ${(e as Error).message}`,
    );
  });
  reply.code(res.statusCode ?? 502);
  for (const [k, v] of Object.entries(res.headers)) {
    if (v === undefined || HOP_BY_HOP.has(k)) continue;
    if (k === 'location' && typeof v === 'string' && o.location) reply.header(k, o.location(v));
    else reply.header(k, v);
  }
  for (const [k, v] of Object.entries(o.answerHeaders ?? {})) reply.header(k, v);
  for (const [k, v] of Object.entries(o.defaultHeaders ?? {}))
    if (res.headers[k] === undefined) reply.header(k, v);
  res.on('end', () => stream.end());
  return reply.send(res);
}
