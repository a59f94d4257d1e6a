import { headersAtOnce, passThrough } from '@hearth/contract/streams';
import type { FastifyInstance } from 'fastify';
import { agentRoutes, AppStatus, HearthError } from '@hearth/contract';
import { serve } from '../http.ts';
import type { Supervisor } from '../vm/index.ts';
import { selection, sendLogs } from './read.ts';

function noApp(id: string): HearthError {
  return new HearthError('VM_NO_APP', `VM ${id} runs no app.`);
}

/** The app's logs (stored on this host), status and control (relayed to the guest agent). */
export function appLogRoutes(app: FastifyInstance, sup: Supervisor): void {
  serve(app, agentRoutes.appLogs, async ({ params, query, reply }) => {
    const sel = selection(query);
    const { files, live, hasApp } = sup.appLogs(params.id);
    if (!hasApp) throw noApp(params.id);
    const out = passThrough();
    let gone = false;
    let leave!: () => void;
    const left = new Promise<void>((r) => (leave = r));
    const bye = () => {
      gone = true;
      leave();
    };
    reply.raw.on('close', bye);
    out.on('close', bye);
    const sink = {
      isGone: () => gone,
      gone: left,
      write: (s: string) =>
        new Promise<void>((resolve) => {
          if (gone || out.write(s)) return resolve();
          const go = () => {
            out.off('drain', go);
            resolve();
          };
          out.on('drain', go);
          void left.then(go);
        }),
    };
    void sendLogs(files, live, params.id, sel, sink)
      .catch((e: Error) => out.write(`hearth: reading the logs failed: ${e.message}\n`))
      .finally(() => out.end());
    reply.type(sel.format === 'ndjson' ? 'application/x-ndjson' : 'text/plain; charset=utf-8');
    // A follow of a quiet app: the manager learns at once that the stream is open.
    if (sel.follow) headersAtOnce(reply.raw);
    return out;
  });
  serve(app, agentRoutes.appStatus, async ({ params }) => {
    if (!sup.appLogs(params.id).hasApp) throw noApp(params.id);
    const r = await (await sup.guest(params.id)).request<{ status: unknown }>({ op: 'app.status' }, 15_000);
    return AppStatus.parse(r.status);
  });
  serve(app, agentRoutes.appControl, async ({ params, body }) => {
    if (!sup.appLogs(params.id).hasApp) throw noApp(params.id);
    // A stop waits up to the app's grace period for it to end.
    const r = await (
      await sup.guest(params.id)
    ).request<{ status: unknown }>(
      { op: 'app.control', action: body.action, ...(body.signal ? { signal: body.signal } : {}) },
      10 * 60_000,
    );
    return AppStatus.parse(r.status);
  });
}
