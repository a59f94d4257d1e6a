import type { FastifyInstance } from 'fastify';
import { HearthError, routes } from '@hearth/contract';
import { hostFromRow } from '../store/mappers.ts';
import { serve } from '../http.ts';
import type { AppServices } from '../app.ts';

export function hostRoutes(
  app: FastifyInstance,
  { stores, vmService, networks, agents, log, auth }: AppServices,
): void {
  const t = auth;

  serve(app, t, routes.listHosts, async ({ query }) => {
    const page = await stores.hosts.list(query.limit, query.cursor);
    return { items: page.items.map(hostFromRow), nextCursor: page.nextCursor };
  });

  serve(app, t, routes.getHost, async ({ params }) => hostFromRow(await stores.hosts.require(params.id)));

  serve(app, t, routes.registerHost, async ({ body }) => {
    const row = await stores.hosts.upsert(body.name, body.url, body.callbackToken, body.inventory);
    await stores.tokens.revokeAgentTokens(row.id);
    const agentToken = await stores.tokens.create('agent', `agent ${body.name}`, row.id);
    agents.live.seen(row);
    log.info({ host: row.id, name: body.name, url: body.url }, 'host registered');
    // Overlays on other hosts learn this one's underlay address (in the background).
    if (body.inventory.underlay) void networks.refreshOverlays();
    return { host: hostFromRow((await stores.hosts.get(row.id))!), agentToken };
  });

  const sameHost = (principalHost: string | null, id: string) => {
    if (principalHost !== id)
      throw new HearthError('FORBIDDEN', 'An agent may only report for its own host.');
  };

  serve(app, t, routes.heartbeat, async ({ params, body, principal }) => {
    sameHost(principal.hostId, params.id);
    const host = await stores.hosts.heartbeat(params.id, body.inventory);
    if (!host) {
      throw new HearthError('HOST_NOT_FOUND', `Heartbeat failed: host ${params.id} is not registered.`);
    }
    agents.live.seen(host);
    await vmService.reconcile(params.id, body.vms, true);
    return { ok: true, networks: (await stores.networks.all()).map((n) => n.id) };
  });

  serve(app, t, routes.reportVmStatus, async ({ params, body, principal }) => {
    sameHost(principal.hostId, params.id);
    await vmService.reconcile(params.id, body.vms, false);
    return { ok: true };
  });
}
