import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PortParams, PROXY_DROPPED_HEADERS, routes, validationError } from '@hearth/contract';
import { admit, checkText } from '../http.ts';
import type { AppServices } from '../app.ts';
import { proxyToGuest } from './guest-http.ts';
import { accessTarget } from './vm-access.ts';

/**
 * A page from the guest is served from the manager's origin: the sandbox gives it an opaque
 * origin instead, so its scripts cannot read the manager's API with the viewer's session.
 */
const SANDBOX = 'sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

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
    const prefix = `/v1/vms/${encodeURIComponent(id)}/proxy/${port}`;
    const q = req.url.indexOf('?');
    return proxyToGuest(deps, {
      req,
      reply,
      body: req.body as Readable | undefined,
      host: tg.host,
      vmId: tg.vmId,
      port,
      path: `/${raw['*'] ?? ''}${q >= 0 ? req.url.slice(q) : ''}`,
      headers: {
        host: `localhost:${port}`,
        'x-forwarded-host': req.headers.host ?? '',
        'x-forwarded-proto': req.protocol,
        'x-forwarded-prefix': prefix,
      },
      // A redirect to an absolute path of the app stays under the proxy's prefix.
      location: (v) => (v.startsWith('/') && !v.startsWith('//') ? prefix + v : v),
      dropHeaders: PROXY_DROPPED_HEADERS,
      answerHeaders: { 'content-security-policy': SANDBOX },
    });
  };
  app.route({ method: [...METHODS], url: routes.vmProxy.path, handler });
  // `/proxy/{port}/` with nothing after it: the router ignores trailing slashes, so the wildcard
  // route never sees it.
  app.route({ method: [...METHODS], url: routes.vmProxy.path.replace(/\/\*$/, ''), handler });
}
