import type { FastifyInstance } from 'fastify';
import { agentRoutes as r } from '@hearth/contract';
import { serve } from '../http.ts';
import type { Supervisor } from '../vm/index.ts';

/** Live migration between agents (docs/migration.md). */
export function migrateRoutes(app: FastifyInstance, sup: Supervisor): void {
  const m = sup.migration;
  serve(app, r.migrateInfo, async ({ params }) => m.info(params.id));
  serve(app, r.migrateIncoming, async ({ params, body }) => {
    if (body.spec.id !== params.id) throw new Error('the spec is of another VM');
    return m.prepare(body.spec, body);
  });
  serve(app, r.migrateFinish, async ({ params }) => m.finish(params.id));
  serve(app, r.migrateAbortIncoming, async ({ params }) => {
    await m.abort(params.id);
    return { ok: true };
  });
  serve(app, r.migrateSend, async ({ params, body }) => m.send(params.id, body));
  serve(app, r.migrateProgress, async ({ params }) => m.progress(params.id));
  serve(app, r.migrateCancel, async ({ params }) => m.cancel(params.id));
}
