import type { FastifyInstance } from 'fastify';
import { routes } from '@hearth/contract';
import { IdempotencyStore } from '../store/idempotency.ts';
import { eventFromRow, vmFromRow } from '../store/mappers.ts';
import { serve } from '../http.ts';
import type { AppServices } from '../app.ts';

export function vmRoutes(app: FastifyInstance, { stores, vmService, auth }: AppServices): void {
  const t = auth;

  serve(app, t, routes.createVm, async ({ body, req, reply, principal, actor }) => {
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string' || !key) return vmService.create(body, actor);
    const claim = await stores.idempotency.claim(
      key,
      principal.userId ?? principal.credentialId,
      IdempotencyStore.hashBody(req.body),
    );
    if (claim.kind === 'replay') {
      reply.code(claim.status).header('idempotent-replayed', 'true');
      return claim.body;
    }
    try {
      const vm = await vmService.create(body, actor);
      await stores.idempotency.complete(key, principal.userId ?? principal.credentialId, 201, vm);
      return vm;
    } catch (e) {
      await stores.idempotency.release(key, principal.userId ?? principal.credentialId);
      throw e;
    }
  });

  serve(app, t, routes.listVms, async ({ query }) => {
    const page = await stores.vms.list(query);
    const now = Date.now();
    return { items: page.items.map((r) => vmFromRow(r, now)), nextCursor: page.nextCursor };
  });

  serve(app, t, routes.getVm, async ({ params }) => vmService.get(params.id));
  serve(app, t, routes.patchVm, async ({ params, body, actor }) => vmService.patch(params.id, body, actor));
  serve(app, t, routes.deleteVm, async ({ params, actor }) => vmService.delete(params.id, actor));
  serve(app, t, routes.startVm, async ({ params, actor }) => vmService.action(params.id, 'start', actor));
  serve(app, t, routes.stopVm, async ({ params, body, actor }) =>
    vmService.action(params.id, 'stop', actor, body),
  );
  serve(app, t, routes.pauseVm, async ({ params, actor }) => vmService.action(params.id, 'pause', actor));
  serve(app, t, routes.resumeVm, async ({ params, actor }) => vmService.action(params.id, 'resume', actor));
  serve(app, t, routes.restartVm, async ({ params, actor }) => vmService.action(params.id, 'restart', actor));
  serve(app, t, routes.waitVm, async ({ params, query }) =>
    vmService.wait(params.id, query.state, query.timeout),
  );

  serve(app, t, routes.vmEvents, async ({ params, query }) => {
    const vm = await stores.vms.require(params.id);
    const page = await stores.vms.events(vm.id, query.limit, query.cursor);
    return { items: page.items.map(eventFromRow), nextCursor: page.nextCursor };
  });

  serve(app, t, routes.vmLogs, async ({ params, query }) => vmService.logs(params.id, query.tail));
}
