import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { HearthError } from '@hearth/contract';

/** Where `npm run build` in apps/web writes the dashboard. */
export const DEFAULT_UI_DIR = fileURLToPath(new URL('../../../web/dist', import.meta.url));

/** Paths that belong to the API or to tooling; the dashboard's history fallback never answers them. */
const API_PREFIXES = ['/v1/', '/v1?', '/agent/', '/docs', '/openapi.json', '/healthz', '/metrics'];

const MISSING_HTML = (dir: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Hearth: dashboard not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>The Hearth dashboard is not built</h1>
<p>The manager serves the web dashboard from <code>${dir}</code>, which has no <code>index.html</code>.</p>
<p>Build it with <code>bash scripts/setup.sh</code> (or <code>npm run build -w apps/web</code>) and
restart the manager. The API works meanwhile: <a href="/docs">/docs</a>.</p>
</body></html>`;

/**
 * Serves the built dashboard on the API's port. Hashed assets are cached for good; index.html is
 * revalidated so a rebuilt UI is picked up. Any other GET outside the API gets index.html, so
 * client-side routes survive reloads; unknown /v1 paths keep their JSON 404.
 */
export async function uiRoutes(app: FastifyInstance, dir: string): Promise<void> {
  const indexPath = join(dir, 'index.html');
  const index = existsSync(indexPath) ? readFileSync(indexPath, 'utf8') : null;
  if (index) {
    await app.register(fastifyStatic, {
      root: dir,
      prefix: '/',
      wildcard: false,
      index: false,
      decorateReply: false,
      setHeaders: (reply, path) =>
        reply.header(
          'cache-control',
          path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
        ),
    });
  }
  app.get('/*', async (req, reply) => {
    const url = req.url;
    if (url === '/v1' || API_PREFIXES.some((p) => url.startsWith(p))) {
      throw new HearthError('ROUTE_NOT_FOUND', `No route ${req.method} ${url.split('?')[0]}.`);
    }
    reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8');
    if (!index) return reply.code(503).send(MISSING_HTML(dir));
    return reply.send(index);
  });
}
