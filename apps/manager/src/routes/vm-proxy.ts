import http, { type IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WebSocket } from 'ws';
import {
  agentPath,
  errorCatalogue,
  HearthError,
  PortParams,
  PROXY_DROPPED_HEADERS,
  routes,
  validationError,
  type ErrorCode,
} from '@hearth/contract';
import { PortStream, PortStreamError } from '@hearth/contract/port-stream';
import { admit, checkText } from '../http.ts';
import type { AppServices } from '../app.ts';
import { accessTarget } from './vm-access.ts';

/** Headers of one hop only (RFC 9110 §7.6.1), never passed on by a proxy. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * A page from the guest is served from the manager's origin: the sandbox gives it an opaque
 * origin instead, so its scripts cannot read the manager's API with the viewer's session.
 */
const SANDBOX = 'sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

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

/**
 * `/v1/vms/{id}/proxy/{port}/…`: HTTP to a server in the guest over a guest-agent TCP stream (one
 * per request, `Connection: close`), streamed both ways. Authorized like the port stream
 * (operator); cookie sessions need the CSRF header for writes, as everywhere.
 */
export function vmProxyRoutes(app: FastifyInstance, deps: AppServices): void {
  const target = accessTarget(deps.stores);
  // The body is the guest's business: passed on as it comes, never parsed here.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const { principal, project } = await admit(deps.auth, req, routes.vmProxy);
    deps.auth.checkCsrf(req, principal);
    const raw = req.params as Record<string, string>;
    const pathOnly = req.url.split('?')[0]!;
    if (raw['*'] === undefined && !pathOnly.endsWith('/')) {
      // The app's root: with the slash, its relative links resolve under the prefix.
      const q = req.url.slice(pathOnly.length);
      return reply.redirect(`${pathOnly}/${q}`, 308);
    }
    const parsed = PortParams.safeParse({ id: raw.id, port: raw.port });
    if (!parsed.success) throw validationError('the request path', parsed.error.issues);
    checkText(parsed.data, 'path');
    const { id, port } = parsed.data;
    const tg = await target(id, project);
    const url = `${tg.host.url.replace(/^http/, 'ws')}${agentPath('portStream', { params: { id: tg.vmId, port }, query: {} })}`;
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${tg.host.callback_token}` },
      ...(url.startsWith('wss:') ? deps.agents.tlsFor(tg.host) : {}),
    });
    let stream: PortStream;
    try {
      stream = await openStream(ws);
    } catch (e) {
      ws.terminate();
      throw streamError(e, port);
    }
    const prefix = `/v1/vms/${encodeURIComponent(id)}/proxy/${port}`;
    const q = req.url.indexOf('?');
    const path = `/${raw['*'] ?? ''}${q >= 0 ? req.url.slice(q) : ''}`;
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined || HOP_BY_HOP.has(k) || (PROXY_DROPPED_HEADERS as readonly string[]).includes(k))
        continue;
      headers[k] = v;
    }
    headers.host = `localhost:${port}`;
    headers['x-forwarded-host'] = req.headers.host ?? '';
    headers['x-forwarded-proto'] = req.protocol;
    headers['x-forwarded-prefix'] = prefix;
    headers.connection = 'close';
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const out = http.request({ method: req.method, path, headers, createConnection: () => stream });
      out.on('response', resolve);
      out.on('error', reject);
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) stream.destroy();
      });
      const body = req.body as Readable | undefined;
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
      // A redirect to an absolute path of the app stays under the proxy's prefix.
      if (k === 'location' && typeof v === 'string' && v.startsWith('/') && !v.startsWith('//'))
        reply.header(k, prefix + v);
      else reply.header(k, v);
    }
    reply.header('content-security-policy', SANDBOX);
    res.on('end', () => stream.end());
    return reply.send(res);
  };
  app.route({ method: [...METHODS], url: routes.vmProxy.path, handler });
  // `/proxy/{port}/` with nothing after it: the router ignores trailing slashes, so the wildcard
  // route never sees it.
  app.route({ method: [...METHODS], url: routes.vmProxy.path.replace(/\/\*$/, ''), handler });
}
