import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  HearthError,
  PortParams,
  PROXY_DROPPED_HEADERS,
  ProxyPassParams,
  routes,
  validationError,
} from '@hearth/contract';
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

/** The app's root without its slash: with the slash, its relative links resolve under the prefix. */
function slashRedirect(req: FastifyRequest, reply: FastifyReply): FastifyReply | null {
  const pathOnly = req.url.split('?')[0]!;
  if ((req.params as Record<string, string>)['*'] !== undefined || pathOnly.endsWith('/')) return null;
  return reply.redirect(`${pathOnly}/${req.url.slice(pathOnly.length)}`, 308);
}

/** Passes one request on to `port` of the VM, everything under `prefix` being the app's. */
function forward(
  deps: AppServices,
  req: FastifyRequest,
  reply: FastifyReply,
  to: { host: Parameters<typeof proxyToGuest>[1]['host']; vmId: string; port: number; prefix: string },
  extra: { answer?: Record<string, string>; defaults?: Record<string, string> } = {},
): Promise<FastifyReply> {
  const rest = (req.params as Record<string, string>)['*'] ?? '';
  const q = req.url.indexOf('?');
  return proxyToGuest(deps, {
    req,
    reply,
    body: req.body as Readable | undefined,
    host: to.host,
    vmId: to.vmId,
    port: to.port,
    path: `/${rest}${q >= 0 ? req.url.slice(q) : ''}`,
    headers: {
      host: `localhost:${to.port}`,
      'x-forwarded-host': req.headers.host ?? '',
      'x-forwarded-proto': req.protocol,
      'x-forwarded-prefix': to.prefix,
    },
    // A redirect to an absolute path of the app stays under the proxy's prefix.
    location: (v) => (v.startsWith('/') && !v.startsWith('//') ? to.prefix + v : v),
    dropHeaders: PROXY_DROPPED_HEADERS,
    answerHeaders: { 'content-security-policy': SANDBOX, ...extra.answer },
    defaultHeaders: extra.defaults ?? {},
  });
}

/** Registers `path` and, because the router ignores trailing slashes, `path` without its `/*`. */
function both(app: FastifyInstance, path: string, handler: (r: FastifyRequest, p: FastifyReply) => unknown) {
  app.route({ method: [...METHODS], url: path, handler });
  app.route({ method: [...METHODS], url: path.replace(/\/\*$/, ''), handler });
}

/**
 * `/v1/vms/{id}/proxy/{port}/…`: HTTP to a server in the guest over a guest-agent TCP stream (one
 * per request, `Connection: close`), streamed both ways. Authorized like the port stream
 * (operator); cookie sessions need the CSRF header for writes, as everywhere.
 * `/v1/proxy-passes/{pass}/…` is the same for browsers, authorized by the pass in its path.
 */
export function vmProxyRoutes(app: FastifyInstance, deps: AppServices): void {
  const target = accessTarget(deps.stores);
  // The body is the guest's business: passed on as it comes, never parsed here.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

  both(app, routes.vmProxy.path, async (req, reply) => {
    const { principal, project } = await admit(deps.auth, req, routes.vmProxy);
    deps.auth.checkCsrf(req, principal);
    const redirected = slashRedirect(req, reply);
    if (redirected) return redirected;
    const raw = req.params as Record<string, string>;
    const parsed = PortParams.safeParse({ id: raw.id, port: raw.port });
    if (!parsed.success) throw validationError('the request path', parsed.error.issues);
    checkText(parsed.data, 'path');
    const { id, port } = parsed.data;
    const tg = await target(id, project);
    return forward(deps, req, reply, {
      ...tg,
      port,
      prefix: `/v1/vms/${encodeURIComponent(id)}/proxy/${port}`,
    });
  });

  both(app, routes.vmProxyPass.path, async (req, reply) => {
    await admit(deps.auth, req, routes.vmProxyPass);
    const parsed = ProxyPassParams.safeParse({ pass: (req.params as Record<string, string>).pass });
    if (!parsed.success) throw validationError('the request path', parsed.error.issues);
    const { pass } = parsed.data;
    const found = await deps.stores.tickets.readPass(pass);
    const refused = (why: string) =>
      new HearthError('PROXY_PASS_INVALID', `Opening the app failed: the pass ${why}.`);
    if (!found) throw refused('is unknown or expired, or its sign-in ended');
    try {
      await deps.auth.check(found.principal, 'operator', found.project);
    } catch {
      throw refused('belongs to someone who no longer holds the operator role in its project');
    }
    const redirected = slashRedirect(req, reply);
    if (redirected) return redirected;
    // The sandboxed page's own requests come from an opaque origin (`Origin: null`): for the
    // browser they are cross-origin, so `fetch` needs CORS. Only that origin is answered, and no
    // credential rides on it (the pass is in the address).
    const fromPage = req.headers.origin === 'null';
    if (fromPage && req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      return reply
        .code(204)
        .header('access-control-allow-origin', 'null')
        .header('access-control-allow-methods', METHODS.join(', '))
        .header('access-control-allow-headers', req.headers['access-control-request-headers'] ?? '')
        .header('access-control-max-age', '600')
        .header('vary', 'origin')
        .send();
    }
    const tg = await target(found.vmId, found.project);
    // The pass is in every address of the app: no Referer may carry it to another site.
    return forward(
      deps,
      req,
      reply,
      { ...tg, port: found.port, prefix: `/v1/proxy-passes/${pass}` },
      {
        answer: { 'referrer-policy': 'no-referrer' },
        defaults: fromPage ? { 'access-control-allow-origin': 'null', vary: 'origin' } : {},
      },
    );
  });
}
