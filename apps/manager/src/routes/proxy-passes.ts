import type { FastifyInstance } from 'fastify';
import { PROXY_PASS_DEFAULT_TTL_S, routes } from '@hearth/contract';
import { serve } from '../http.ts';
import type { AppServices } from '../app.ts';

/** `POST /v1/vms/{id}/proxy-passes`: a pass for the HTTP proxy to one port of the VM, for browsers. */
export function proxyPassRoutes(app: FastifyInstance, deps: AppServices): void {
  serve(app, deps.auth, routes.createProxyPass, async ({ principal, project, params, body }) => {
    const vm = await deps.stores.vms.require(params.id, project);
    const ttlMs = (body.ttlSeconds ?? PROXY_PASS_DEFAULT_TTL_S) * 1000;
    const { pass, expiresAt } = await deps.stores.tickets.createPass(
      principal,
      { vmId: vm.id, port: body.port, project },
      ttlMs,
    );
    return {
      path: `/v1/proxy-passes/${pass}/`,
      vmId: vm.id,
      port: body.port,
      expiresAt: expiresAt.toISOString(),
    };
  });
}
