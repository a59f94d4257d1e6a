import type { FastifyInstance } from 'fastify';
import { routes } from '@hearth/contract';
import { streamAppLogs } from '../services/app-logs.ts';
import { IdempotencyStore } from '../store/idempotency.ts';
import { eventFromRow, vmFromRow } from '../store/mappers.ts';
import { serve } from '../http.ts';
import type { AppServices } from '../app.ts';

export function vmRoutes(app: FastifyInstance, { stores, vmService, auth, agents }: AppServices): void {
  const t = auth;

  serve(app, t, routes.createVm, async ({ body, req, reply, principal, actor, project }) => {
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string' || !key) return vmService.create(body, project, actor);
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
      const vm = await vmService.create(body, project, actor);
      await stores.idempotency.complete(
        key,
        principal.userId ?? principal.credentialId,
        claim.claim,
        201,
        vm,
      );
      return vm;
    } catch (e) {
      await stores.idempotency.release(key, principal.userId ?? principal.credentialId, claim.claim);
      throw e;
    }
  });

  // The request's project is the one listed (a `project` query names it, checked by serve()).
  serve(app, t, routes.listVms, async ({ query, project }) => {
    const page = await stores.vms.list({ ...query, project });
    const now = Date.now();
    return { items: page.items.map((r) => vmFromRow(r, now)), nextCursor: page.nextCursor };
  });

  serve(app, t, routes.getVm, async ({ params, project }) => vmService.get(params.id, project));
  serve(app, t, routes.patchVm, async ({ params, project, body, actor }) =>
    vmService.patch(params.id, project, body, actor),
  );
  serve(app, t, routes.deleteVm, async ({ params, project, actor }) =>
    vmService.delete(params.id, project, actor),
  );
  serve(app, t, routes.startVm, async ({ params, project, actor }) =>
    vmService.action(params.id, project, 'start', actor),
  );
  serve(app, t, routes.pauseVm, async ({ params, project, actor }) =>
    vmService.action(params.id, project, 'pause', actor),
  );
  serve(app, t, routes.resumeVm, async ({ params, project, actor }) =>
    vmService.action(params.id, project, 'resume', actor),
  );
  serve(app, t, routes.restartVm, async ({ params, project, actor }) =>
    vmService.action(params.id, project, 'restart', actor),
  );
  serve(app, t, routes.stopVm, async ({ params, project, body, actor }) =>
    vmService.action(params.id, project, 'stop', actor, body),
  );
  serve(app, t, routes.waitVm, async ({ params, project, query }) =>
    vmService.wait(params.id, project, query.state, query.timeout),
  );

  serve(app, t, routes.vmEvents, async ({ params, project, query }) => {
    const vm = await stores.vms.require(params.id, project);
    const page = await stores.vms.events(vm.id, query.limit, query.cursor);
    return { items: page.items.map(eventFromRow), nextCursor: page.nextCursor };
  });

  serve(app, t, routes.vmLogs, async ({ params, project, query }) =>
    vmService.logs(params.id, project, query.tail),
  );

  serve(app, t, routes.vmAppLogs, async ({ params, project, query, reply }) => {
    // The VM's agent knows whether it runs an app (VM_NO_APP otherwise) and keeps its logs.
    const vm = await stores.vms.require(params.id, project);
    return streamAppLogs({ stores, agents }, vm, query, reply);
  });
}
