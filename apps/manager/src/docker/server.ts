import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
} from 'fastify';
import type { Logger } from 'pino';
import type { DockerDeps } from './calls.ts';
import { DockerError, notSupported } from './errors.ts';
import { ExecStore } from './exec-store.ts';
import { hijackHandler } from './hijack.ts';
import { containerRoutes } from './routes-containers.ts';
import { execRoutes } from './routes-exec.ts';
import { imageRoutes } from './routes-images.ts';
import { logRoutes } from './routes-logs.ts';
import { systemRoutes } from './routes-system.ts';
import { stripVersion } from './version-prefix.ts';
import type { HearthBackend } from './backend.ts';

/**
 * The client reads an error's message only with exactly this content type, which Fastify would
 * extend with a charset: the answer is written as is.
 */
function dockerError(reply: FastifyReply, status: number, message: string): FastifyReply {
  const body = JSON.stringify({ message });
  reply.hijack();
  reply.raw.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  reply.raw.end(body);
  return reply;
}

/** Builds the Docker Engine API app (not listening). Routes are served with and without `/v1.NN`. */
export async function buildDockerApp(deps: DockerDeps, execs: ExecStore): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    rewriteUrl: (req) => stripVersion(req.url ?? '/'),
    routerOptions: { ignoreTrailingSlash: true },
  });
  // The client sends JSON bodies, sometimes empty ones with a JSON content type; other bodies are ignored.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body).trim();
    if (!text) return done(null, null);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new DockerError(400, 'The request body is not valid JSON.'), undefined);
    }
  });
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, _body, done) => done(null, null));
  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    if (err instanceof DockerError) return dockerError(reply, err.status, err.message);
    if (err.statusCode && err.statusCode < 500) return dockerError(reply, err.statusCode, err.message);
    req.log.warn({ err, url: req.url }, 'docker api request failed');
    return dockerError(reply, 500, `Hearth failed to handle the request: ${err.message}`);
  });
  app.setNotFoundHandler((req, reply) => {
    const e = notSupported(`${req.method} ${req.url.split('?')[0]}`);
    return dockerError(reply, e.status, e.message);
  });
  app.addHook('onResponse', async (req, reply) => {
    req.log.debug({ method: req.method, url: req.url, status: reply.statusCode }, 'docker api');
  });
  systemRoutes(app, deps);
  containerRoutes(app, deps);
  logRoutes(app, deps);
  execRoutes(app, deps, execs);
  imageRoutes(app, deps);
  app.server.on('upgrade', hijackHandler(deps.backend, execs, deps.log));
  await app.ready();
  return app;
}

export interface DockerApiConfig {
  /** A Unix socket path (stale sockets are replaced), or null for none. */
  socket: string | null;
  /** Its file mode; default 0600 (0660 lets a group in). */
  socketMode?: number;
  /** `host:port` for a TCP listener, or null for none. */
  listen: string | null;
}

export interface RunningDockerApi {
  /** Where it listens: `unix:///path` and/or `tcp://host:port`. */
  endpoints: string[];
  dispose(): Promise<void>;
}

async function removeStaleSocket(path: string): Promise<void> {
  const st = await lstat(path).catch(() => null);
  if (!st) return;
  if (!st.isSocket())
    throw new Error(`${path} exists and is not a socket; remove it or choose another docker socket path`);
  await unlink(path);
}

/**
 * Serves the Docker Engine API subset on a Unix socket and/or a TCP address, one app per listener,
 * all translating to the Hearth API through `backend`.
 */
export async function startDockerApi(
  cfg: DockerApiConfig,
  deps: { backend: HearthBackend; log: Logger; version: string },
): Promise<RunningDockerApi> {
  const execs = new ExecStore();
  const apps: FastifyInstance[] = [];
  const endpoints: string[] = [];
  const full: DockerDeps = { ...deps, log: deps.log.child({ component: 'docker-api' }) };
  try {
    if (cfg.socket) {
      await mkdir(dirname(cfg.socket), { recursive: true, mode: 0o700 });
      await removeStaleSocket(cfg.socket);
      const app = await buildDockerApp(full, execs);
      apps.push(app);
      await app.listen({ path: cfg.socket });
      await chmod(cfg.socket, cfg.socketMode ?? 0o600);
      endpoints.push(`unix://${cfg.socket}`);
    }
    if (cfg.listen) {
      const m = /^(.*):(\d+)$/.exec(cfg.listen);
      if (!m) throw new Error(`HEARTH_DOCKER_LISTEN must be host:port, not ${cfg.listen}`);
      const app = await buildDockerApp(full, execs);
      apps.push(app);
      await app.listen({ host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) });
      const addr = app.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : Number(m[2]);
      endpoints.push(`tcp://${m[1]}:${port}`);
    }
  } catch (e) {
    await Promise.all(apps.map((a) => a.close()));
    execs.dispose();
    throw e;
  }
  full.log.info({ endpoints }, 'docker api listening');
  let disposed = false;
  return {
    endpoints,
    async dispose() {
      if (disposed) return;
      disposed = true;
      execs.dispose();
      await Promise.all(
        apps.map(async (a) => {
          const closing = a.close();
          a.server.closeAllConnections();
          await closing;
        }),
      );
      if (cfg.socket) await unlink(cfg.socket).catch(() => undefined);
    },
  };
}
