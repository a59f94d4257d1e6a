import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppServices } from '../app.ts';
import type { Sealer } from '../crypto/sealed.ts';
import { controlRoutes } from './control-routes.ts';
import { e2bErrorHandler } from './errors.ts';
import { sendUnaryError } from './envd/connect.ts';
import { EnvdError } from './envd/context.ts';
import { envdRoutes, SANDBOX_HEADER } from './envd/routes.ts';
import { Sandboxes } from './sandboxes.ts';
import { SandboxStore } from './store.ts';
import { trafficRouting } from './traffic.ts';

export const E2B_PREFIX = '/e2b';
/** How often sandboxes past their end are killed or paused. */
const SWEEP_MS = 1000;

/**
 * The E2B sandboxes, and the routing of `<port>-<id>.<domain>` Host names to their ports: called
 * before any route is declared, so that routing comes first.
 */
export function e2bSandboxes(app: FastifyInstance, deps: AppServices & { sealer: Sealer }): Sandboxes {
  const sandboxes = new Sandboxes({
    stores: deps.stores,
    vms: deps.vmService,
    snapshots: deps.snapshots,
    store: new SandboxStore(deps.db),
    sealer: deps.sealer,
    log: deps.log.child({ component: 'e2b' }),
  });
  trafficRouting(app, { ...deps, sandboxes, domain: deps.e2bDomain ?? null });
  return sandboxes;
}

/**
 * The E2B-compatible API under /e2b (docs/e2b.md): control-plane calls carry `X-API-KEY`, a
 * sandbox's envd calls carry `E2b-Sandbox-Id` (and its `X-Access-Token`). Each half is its own
 * Fastify context (body parsers, error shape: E2B's `{code, message}` or Connect's).
 */
export async function e2bRoutes(
  app: FastifyInstance,
  deps: AppServices & { sandboxes: Sandboxes; e2bSweepMs?: number },
): Promise<void> {
  const { sandboxes } = deps;
  // Unconfigured, the sandboxes' domain is the name the caller reached the manager by.
  const domainFor = (req: FastifyRequest) => deps.e2bDomain || req.headers.host || null;
  const isEnvd = (headers: Record<string, unknown>) => typeof headers[SANDBOX_HEADER] === 'string';
  await app.register(
    async (e2b) => {
      // The two share no path; a path neither has is answered in the shape of the one the header names.
      e2b.setNotFoundHandler((req, reply) =>
        isEnvd(req.headers)
          ? sendUnaryError(
              reply,
              new EnvdError('not_found', `no envd method ${req.method} ${req.url.split('?')[0]}`),
            )
          : reply
              .code(404)
              .type('application/json')
              .send({ code: 404, message: `no route ${req.method} ${req.url.split('?')[0]}` }),
      );
      await e2b.register(async (envd) =>
        envdRoutes(envd, { sandboxes, agents: deps.agents, stores: deps.stores }),
      );
      await e2b.register(async (control) => {
        control.setErrorHandler(e2bErrorHandler);
        controlRoutes(control, {
          auth: deps.auth,
          stores: deps.stores,
          agents: deps.agents,
          sandboxes,
          domainFor,
        });
      });
    },
    { prefix: E2B_PREFIX },
  );
  let sweeping = false;
  const timer = setInterval(() => {
    // Timeouts are background work: the leader replica's (services/replicas/leader.ts).
    if (sweeping || (deps.leader && !deps.leader())) return;
    sweeping = true;
    sandboxes
      .sweep()
      .catch((e: Error) => deps.log.warn({ err: e.message }, 'e2b: sweep failed'))
      .finally(() => (sweeping = false));
  }, deps.e2bSweepMs ?? SWEEP_MS);
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));
}
