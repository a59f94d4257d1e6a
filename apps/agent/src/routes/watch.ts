import type { FastifyInstance } from 'fastify';
import { agentRoutes, FS_WATCH_FEATURE, type AgentWatchLine } from '@hearth/contract';
import { passThrough } from '@hearth/contract/streams';
import type { Supervisor } from '../vm/index.ts';
import { GuestError } from '../guest/errors.ts';
import { serve } from '../http.ts';

/**
 * A guest directory's changes (fs.watch, inotify in the guest) as NDJSON lines: `watching` once
 * the guest's watches are set (a missing path or a file is an HTTP error before any line), then a
 * `change` per change, and an `error` line if the watch fails later. A guest agent without
 * fs.watch answers one `unsupported` line, and the caller watches another way. The watch ends
 * when the client goes away.
 */
export function watchRoutes(app: FastifyInstance, sup: Supervisor): void {
  serve(app, agentRoutes.watchFiles, async ({ params, query, reply }) => {
    const guest = await sup.guest(params.id);
    const out = passThrough();
    const line = (l: AgentWatchLine) => out.write(JSON.stringify(l) + '\n');
    reply.type('application/x-ndjson');
    if (!guest.info?.capabilities.includes(FS_WATCH_FEATURE)) {
      line({ type: 'unsupported' });
      out.end();
      return out;
    }
    const s = guest.open({ op: 'fs.watch', path: query.path, recursive: query.recursive === 'true' });
    // Listen before the first await: the guest's first events may come in one read.
    let watching = false;
    const started = new Promise<void>((resolve, reject) => {
      s.on('event', (ev: Record<string, unknown>) => {
        if (ev.type === 'watching') {
          watching = true;
          line({ type: 'watching' });
          resolve();
        } else if (ev.type === 'change' && watching) {
          line({ type: 'change', name: String(ev.name), op: ev.op as 'create' });
        }
      });
      s.result.then(
        (r) => {
          const e = new GuestError(r.error?.code ?? 'INTERNAL', r.error?.message ?? 'the watch ended');
          if (watching && !r.ok) line({ type: 'error', code: e.code, message: e.message });
          out.end();
          reject(e);
        },
        (e: GuestError) => {
          if (watching) line({ type: 'error', code: e.code ?? 'INTERNAL', message: e.message });
          out.end();
          reject(e);
        },
      );
    });
    reply.raw.on('close', () => {
      s.discard();
      if (!s.done) void s.control({ type: 'cancel' });
    });
    await started;
    return out;
  });
}
