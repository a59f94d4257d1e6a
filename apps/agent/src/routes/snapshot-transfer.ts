import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { agentRoutes as r } from '@hearth/contract';
import { serve } from '../http.ts';
import type { Supervisor } from '../vm/index.ts';

/** A stored snapshot copied between agents through the manager (vm/snapshot-transfer.ts). */
export function snapshotTransferRoutes(app: FastifyInstance, sup: Supervisor): void {
  const t = sup.snapshotTransfer;
  serve(app, r.snapshotFiles, async ({ params }) => t.describe(params.snapshotId));
  serve(app, r.snapshotFileSend, async ({ params, query, reply }) => {
    const out = await t.send(params.snapshotId, params.file, query);
    reply.type('application/octet-stream').header('content-length', String(query.encodedBytes));
    return out;
  });
  serve(app, r.snapshotReceive, async ({ params, query, req }) =>
    t.receive(params.snapshotId, params.file, req.body as Readable, query),
  );
  serve(app, r.snapshotReceiveCommit, async ({ params, body }) => {
    await t.commit(params.snapshotId, body.files);
    return { ok: true };
  });
  serve(app, r.snapshotReceiveAbort, async ({ params }) => {
    await t.abort(params.snapshotId);
    return { ok: true };
  });
}
