import type { FastifyInstance } from 'fastify';
import { routes, validationError, type StreamEvent } from '@hearth/contract';
import { PROJECT_HEADER } from '../auth/authority.ts';
import { admit } from '../http.ts';
import type { Visible } from '../services/change-feed.ts';
import type { AppServices } from '../app.ts';

/** Comment lines keep idle connections alive through proxies that drop silent ones. */
const KEEPALIVE_MS = 15_000;

const frame = (e: StreamEvent) => `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;

/**
 * `GET /v1/events`: VM changes as Server-Sent Events. A client resuming from a position (the
 * `Last-Event-ID` EventSource sends on reconnect, or `?since=`) gets what it missed, or `reset`.
 */
export function eventRoutes(app: FastifyInstance, { changes, auth }: AppServices): void {
  const route = routes.eventStream;
  const open = new Set<import('node:http').ServerResponse>();
  // Closing the app (shutdown, tests) must not wait for streams that never end on their own.
  app.addHook('preClose', async () => {
    for (const res of open) res.end();
  });
  app.get(route.path, async (req, reply) => {
    // Bearer header, session cookie, or (EventSource cannot set headers) a single-use ?ticket=.
    // A token in the URL is not accepted: URLs end up in logs and browser history.
    const { principal, project } = await admit(auth, req, route);
    const q = req.query as Record<string, unknown>;
    // A platform admin who names no project follows every project; anyone else follows the
    // request's project, where admit() checked they may view.
    const named = !!req.headers[PROJECT_HEADER] || typeof q.project === 'string' || principal.scope !== null;
    const everywhere =
      principal.admin && !named && (principal.ceiling === null || principal.ceiling === 'admin');
    const visible: Visible = everywhere ? () => true : (p) => p === project;
    const parsed = route.query.safeParse(q);
    if (!parsed.success) throw validationError('the request query', parsed.error.issues);
    const lastId = req.headers['last-event-id'];
    const since = typeof lastId === 'string' && /^\d+$/.test(lastId) ? Number(lastId) : parsed.data.since;

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    // Subscribe before replaying: nothing can fall between the replay and the live changes.
    const send = (e: StreamEvent) => res.write(frame(e));
    const onChange = (e: StreamEvent, p: string) => {
      if (visible(p)) send(e);
    };
    const onReset = (seq: number) => send({ type: 'reset', seq });
    changes.on('change', onChange);
    changes.on('reset', onReset);
    if (since === undefined) send({ type: 'hello', seq: changes.position });
    else {
      const missed = changes.since(since, visible);
      if (missed) for (const e of missed) send(e);
      else send({ type: 'reset', seq: changes.position });
    }
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
    open.add(res);
    res.on('close', () => {
      clearInterval(keepalive);
      changes.off('change', onChange);
      changes.off('reset', onReset);
      open.delete(res);
    });
  });
}
