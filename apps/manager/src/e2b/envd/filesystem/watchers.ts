import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { EnvdError } from '../context.ts';
import { envdCode, resolvePath, type EnvdFsDeps } from './guest.ts';
import { unary } from './rpc.ts';
import { POLL_MS, rest, type FsEvent } from './watch.ts';
import { watchDir } from './inotify.ts';
import { basicUser, callContext } from './call.ts';

/** A watcher nobody asked for events for this long is dropped. */
const IDLE_MS = 5 * 60_000;
/** Events kept for a watcher between two reads. */
const MAX_PENDING = 10_000;

interface Watcher {
  vmId: string;
  events: FsEvent[];
  error: EnvdError | null;
  lastRead: number;
  stop: AbortController;
}

/**
 * The unary watcher trio (CreateWatcher, GetWatcherEvents, RemoveWatcher): a watcher polls its
 * directory in the background and keeps the events until they are read. Watchers live in this
 * manager process; one belongs to the sandbox that created it.
 */
export function watcherRoutes(app: FastifyInstance, deps: EnvdFsDeps): void {
  const watchers = new Map<string, Watcher>();
  const S = '/filesystem.Filesystem';
  app.addHook('onClose', async () => {
    for (const w of watchers.values()) w.stop.abort();
    watchers.clear();
  });

  const mine = async (req: FastifyRequest, id: unknown): Promise<[string, Watcher]> => {
    const vm = await deps.resolve(req);
    const w = typeof id === 'string' ? watchers.get(id) : undefined;
    if (!w || w.vmId !== vm.id) throw new EnvdError('not_found', `watcher with id ${String(id)} not found`);
    return [id as string, w];
  };

  unary(app, `${S}/CreateWatcher`, async (msg, req) => {
    const { guest, user } = await callContext(deps, req, basicUser(req));
    const poller = await watchDir(
      guest,
      resolvePath(typeof msg.path === 'string' ? msg.path : '', user),
      msg.recursive === true,
      msg.includeEntry === true,
    );
    const id = randomUUID();
    const w: Watcher = {
      vmId: guest.vm.id,
      events: [],
      error: null,
      lastRead: Date.now(),
      stop: new AbortController(),
    };
    watchers.set(id, w);
    void (async () => {
      while (!w.stop.signal.aborted) {
        if (Date.now() - w.lastRead > IDLE_MS) break;
        try {
          const evs = await poller.poll();
          w.events.push(...evs);
          if (w.events.length > MAX_PENDING) w.events.splice(0, w.events.length - MAX_PENDING);
        } catch (e) {
          w.error = envdCode(e);
          poller.close();
          return;
        }
        await rest(POLL_MS, w.stop.signal);
      }
      poller.close();
      watchers.delete(id);
    })();
    return { watcherId: id };
  });

  unary(app, `${S}/GetWatcherEvents`, async (msg, req) => {
    const [, w] = await mine(req, msg.watcherId);
    w.lastRead = Date.now();
    if (w.error) throw w.error;
    return { events: w.events.splice(0) };
  });

  unary(app, `${S}/RemoveWatcher`, async (msg, req) => {
    const [id, w] = await mine(req, msg.watcherId);
    w.stop.abort();
    watchers.delete(id);
    return {};
  });
}
