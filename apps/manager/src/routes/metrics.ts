import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { routes } from '@hearth/contract';
import type { Registry } from 'prom-client';
import { admit, serve } from '../http.ts';
import type { AppServices } from '../app.ts';

/** Who may scrape /metrics besides a platform admin (docs/metrics.md). */
export interface ScrapeAccess {
  /** A bearer token for the scraper alone (HEARTH_METRICS_TOKEN); it opens nothing else. */
  token?: string | null;
  /** Anyone, unauthenticated (HEARTH_METRICS_PUBLIC=1): the operator's opt-in, off by default. */
  public?: boolean;
}

function scrapeTokenMatches(req: FastifyRequest, token: string | null | undefined): boolean {
  if (!token) return false;
  const given = Buffer.from(req.headers.authorization?.replace(/^Bearer /, '') ?? '');
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

/** GET /metrics, and the kept samples behind the dashboard's charts. */
export function metricsRoutes(
  app: FastifyInstance,
  deps: AppServices,
  registry: Registry,
  access: ScrapeAccess,
): void {
  const { auth, stores, history } = deps;
  const route = routes.prometheusMetrics;
  app.get(route.path, async (req, reply) => {
    // Anyone else is authenticated and authorized as any route is: a platform admin only.
    if (!access.public && !scrapeTokenMatches(req, access.token)) await admit(auth, req, route);
    const body = await registry.metrics();
    return reply.type(registry.contentType).send(body);
  });

  serve(app, auth, routes.vmMetricsHistory, async ({ params, query, project }) => {
    const vm = await stores.vms.require(params.id, project);
    return history.vm(vm.id, query.range);
  });
  serve(app, auth, routes.hostMetricsHistory, async ({ params, query }) => {
    const host = await stores.hosts.require(params.id);
    return history.host(host.id, query.range);
  });
}
