import type { FastifyInstance } from 'fastify';
import { HearthError, routes } from '@hearth/contract';
import { serve } from '../http.ts';
import type { AppServices } from '../app.ts';

/** The audit trail: a project's owners read its records; administrators may read everything. */
export function auditRoutes(app: FastifyInstance, { stores, auth }: AppServices): void {
  serve(app, auth, routes.listAudit, async ({ query, project, principal }) => {
    const { all, project: _named, ...filter } = query;
    if (all === 'true' && !principal.admin) {
      throw new HearthError(
        'ADMIN_REQUIRED',
        'Reading the whole audit trail failed: `all=true` is for platform administrators.',
      );
    }
    // Platform records (hosts, users, sign-ins) have no project: only `all` shows them.
    return stores.audit.list({ ...filter, project: all === 'true' ? undefined : project });
  });
}
