import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { agentRoutes as r } from '@hearth/contract';
import { serve } from '../http.ts';
import type { Supervisor } from '../vm/index.ts';

/** A running Firecracker VM's move between agents, by snapshot (docs/migration.md § Firecracker). */
export function migrateSnapshotRoutes(app: FastifyInstance, sup: Supervisor): void {
  const m = sup.snapshotMove;
  serve(app, r.migrateSnapshotSend, async ({ params }) => m.send(params.id));
  serve(app, r.migrateSnapshotFile, async ({ params, query, reply }) => {
    const out = await m.file(params.id, params.file, query);
    reply.type('application/octet-stream').header('content-length', String(query.encodedBytes));
    return out;
  });
  serve(app, r.migrateSnapshotCancel, async ({ params }) => m.cancel(params.id));
  serve(app, r.migrateSnapshotDrop, async ({ params }) => {
    await m.drop(params.id);
    return { ok: true };
  });
  serve(app, r.migrateSnapshotReceive, async ({ params, query, req }) =>
    m.receive(params.id, params.file, req.body as Readable, query),
  );
  serve(app, r.migrateSnapshotRestore, async ({ params, body }) => {
    if (body.spec.id !== params.id) throw new Error('the spec is of another VM');
    return m.restore(body.spec);
  });
  serve(app, r.migrateSnapshotAbort, async ({ params }) => {
    await m.abort(params.id);
    return { ok: true };
  });
}
