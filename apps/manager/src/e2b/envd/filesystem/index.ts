import { posix } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { basicUser, callContext } from './call.ts';
import { EnvdError } from '../context.ts';
import { entries, statEntry } from './entries.ts';
import { envdCode, resolvePath, type EnvdFsDeps, type GuestUser } from './guest.ts';
import { installParsers, serverStreaming, unary, type Message } from './rpc.ts';
import { POLL_MS, rest } from './watch.ts';
import { watchDir } from './inotify.ts';
import { watcherRoutes } from './watchers.ts';

export type { EnvdFsDeps } from './guest.ts';

const SERVICE = '/filesystem.Filesystem';
/** The agent lists at most this deep; envd has no limit. */
const MAX_DEPTH = 32;
function stringField(msg: Message, key: string): string {
  const v = msg[key];
  if (v === undefined) return '';
  if (typeof v !== 'string') throw new EnvdError('invalid_argument', `${key} must be a string`);
  return v;
}

function pathOf(msg: Message, key: string, user: GuestUser): string {
  return resolvePath(stringField(msg, key), user);
}

/**
 * `filesystem.Filesystem` (Connect, JSON) onto the guest agent's file operations: Stat,
 * ListDir, MakeDir, Move, Remove, WatchDir and the polled watcher trio. Routes are relative to
 * the plugin's prefix; the router mounts them under /e2b for calls with `E2b-Sandbox-Id`.
 */
export async function registerEnvdFilesystem(app: FastifyInstance, deps: EnvdFsDeps): Promise<void> {
  await app.register(async (scope) => {
    installParsers(scope);
    const ctx = (req: FastifyRequest) => callContext(deps, req, basicUser(req));

    unary(scope, `${SERVICE}/Stat`, async (msg, req) => {
      const { guest, user } = await ctx(req);
      return { entry: await statEntry(guest, pathOf(msg, 'path', user)) };
    });

    unary(scope, `${SERVICE}/ListDir`, async (msg, req) => {
      const { guest, user } = await ctx(req);
      const depth = Number(msg.depth ?? 0) || 1;
      if (!Number.isInteger(depth) || depth < 1) {
        throw new EnvdError('invalid_argument', 'depth should be at least one');
      }
      const path = pathOf(msg, 'path', user);
      const list = await guest.list(path, Math.min(depth, MAX_DEPTH));
      return { entries: await entries(guest, list) };
    });

    unary(scope, `${SERVICE}/MakeDir`, async (msg, req) => {
      const { guest, user } = await ctx(req);
      const path = pathOf(msg, 'path', user);
      const have = await guest.stat(path).catch((e: unknown) => {
        if (envdCode(e).code === 'not_found') return null;
        throw e;
      });
      if (have?.type === 'dir') throw new EnvdError('already_exists', `directory already exists: ${path}`);
      if (have) {
        throw new EnvdError('invalid_argument', `path already exists but it is not a directory: ${path}`);
      }
      await guest.ensureDirs(path, user);
      return { entry: await statEntry(guest, path) };
    });

    unary(scope, `${SERVICE}/Move`, async (msg, req) => {
      const { guest, user } = await ctx(req);
      const from = pathOf(msg, 'source', user);
      const to = pathOf(msg, 'destination', user);
      await guest.ensureDirs(posix.dirname(to), user);
      await guest.move(from, to);
      return { entry: await statEntry(guest, to) };
    });

    unary(scope, `${SERVICE}/Remove`, async (msg, req) => {
      const { guest, user } = await ctx(req);
      // envd removes with RemoveAll: a path that is already gone is not an error.
      await guest.remove(pathOf(msg, 'path', user)).catch((e: unknown) => {
        if (envdCode(e).code !== 'not_found') throw e;
      });
      return {};
    });

    serverStreaming(scope, `${SERVICE}/WatchDir`, async (msg, req, stream) => {
      const { guest, user } = await ctx(req);
      const poller = await watchDir(
        guest,
        pathOf(msg, 'path', user),
        msg.recursive === true,
        msg.includeEntry === true,
      );
      stream.signal.addEventListener('abort', () => poller.close(), { once: true });
      stream.send({ start: {} });
      const timeoutMs = Number(req.headers['connect-timeout-ms']);
      const deadline = Number.isFinite(timeoutMs) && timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
      const pingMs = (Number(req.headers['keepalive-ping-interval']) || 50) * 1000;
      let lastSent = Date.now();
      while (!stream.signal.aborted) {
        if (Date.now() >= deadline) {
          poller.close();
          return stream.end(new EnvdError('deadline_exceeded', 'watch timed out'));
        }
        const events = await poller.poll();
        for (const ev of events) stream.send({ filesystem: ev });
        if (events.length) lastSent = Date.now();
        else if (Date.now() - lastSent >= pingMs) {
          stream.send({ keepalive: {} });
          lastSent = Date.now();
        }
        await rest(POLL_MS, stream.signal);
      }
      poller.close();
      stream.end();
    });

    watcherRoutes(scope, deps);
  });
}
