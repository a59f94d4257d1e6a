import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HearthError } from '@hearth/contract';
import type { AppServices } from '../app.ts';
import { proxyToGuest } from '../routes/guest-http.ts';
import { accessTarget } from '../routes/vm-access.ts';
import type { Sandboxes } from './sandboxes.ts';
import { isUpgrade, upgradeToGuest } from './traffic-upgrade.ts';

/** What a private sandbox's ports ask for (E2B's name), holding its traffic access token. */
export const TRAFFIC_HEADER = 'e2b-traffic-access-token';

// Any first label `<port>-<name>`: a name that is no sandbox is E2B's 404, not the manager's page.
const HOST_NAME = /^(\d{1,5})-([a-z0-9-]{1,64})\.(.+)$/;
const withoutPort = (h: string) => h.replace(/:\d+$/, '');
const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * `<port>-<sandbox id>.<domain>` (E2B's `getHost(port)`), or null when the Host is not one.
 * Without a configured domain any domain goes: the sandbox id alone picks the sandbox.
 */
export function sandboxHost(
  host: string | undefined,
  domain: string | null,
): { port: number; id: string } | null {
  const m = host ? HOST_NAME.exec(host.toLowerCase()) : null;
  if (!m) return null;
  if (domain && withoutPort(m[3]!) !== withoutPort(domain.toLowerCase())) return null;
  const port = Number(m[1]);
  return port >= 1 && port <= 65535 ? { port, id: m[2]! } : null;
}

function refuse(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).type('application/json').send({ code: status, message });
}

/**
 * Host-name routing to the sandboxes' ports on the manager's own port: a request whose Host is
 * `<port>-<id>.<domain>` goes to that port of the sandbox's VM (the VM proxy's port stream),
 * whatever its path. Only E2B sandboxes are reached this way, each in its own project; public
 * unless created with `allowPublicTraffic: false`, then only with its traffic access token.
 * Installed before every route, so no path of the manager's own answers such a Host.
 */
export function trafficRouting(
  app: FastifyInstance,
  deps: AppServices & { sandboxes: Sandboxes; domain: string | null },
): void {
  const target = accessTarget(deps.stores);
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const to = sandboxHost(req.headers.host, deps.domain);
    if (!to) return;
    // An upgrade's socket left the HTTP server's keeping: once refused, nothing else closes it.
    if (isUpgrade(req)) reply.raw.once('finish', () => req.raw.socket.destroy());
    const f = await deps.sandboxes.forTraffic(to.id);
    if (!f) return refuse(reply, 404, `sandbox "${to.id}" not found`);
    if (!f.row.public_traffic) {
      const sent = req.headers[TRAFFIC_HEADER];
      if (typeof sent !== 'string' || !sent) {
        return refuse(reply, 403, `sandbox "${to.id}" is private: send its ${TRAFFIC_HEADER}`);
      }
      if (!timingSafeEqual(digest(sent), digest(deps.sandboxes.trafficToken(f.row)))) {
        return refuse(reply, 403, `the ${TRAFFIC_HEADER} is not sandbox "${to.id}"'s`);
      }
    }
    try {
      const tg = await target(f.row.vm_id, f.row.project);
      const forwarded = { 'x-forwarded-host': req.headers.host ?? '', 'x-forwarded-proto': req.protocol };
      if (isUpgrade(req)) {
        // A WebSocket (or another protocol switch): the bytes of both ways, once the guest answers.
        await upgradeToGuest(deps, {
          req,
          reply,
          host: tg.host,
          vmId: tg.vmId,
          port: to.port,
          headers: forwarded,
          dropHeaders: [TRAFFIC_HEADER],
        });
        return reply;
      }
      const hasBody =
        req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
      return await proxyToGuest(deps, {
        req,
        reply,
        body: hasBody ? req.raw : undefined,
        host: tg.host,
        vmId: tg.vmId,
        port: to.port,
        path: req.url,
        // The Host stays the client's, as on E2B; its cookies and Authorization are the app's own
        // (another origin than the manager's).
        headers: forwarded,
        dropHeaders: [TRAFFIC_HEADER],
      });
    } catch (e) {
      if (!(e instanceof HearthError)) throw e;
      // Not running, or nothing listening on the port: E2B's 502.
      return refuse(reply, e.status >= 500 || e.code === 'VM_NOT_RUNNING' ? 502 : e.status, e.message);
    }
  });
}
