import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { buildOpenApi, HearthError } from '@hearth/contract';
import type { AppServices } from '../app.ts';

const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Hearth API</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui', persistAuthorization: true });</script>
</body></html>`;

export async function systemRoutes(
  app: FastifyInstance,
  { db, version, notReady }: AppServices,
): Promise<void> {
  const openapi = buildOpenApi(version);
  app.get('/healthz', async () => {
    const why = notReady?.();
    if (why) {
      throw new HearthError('HOST_UNAVAILABLE', `Hearth is not ready: ${why}.`, { retryAfterS: 1 });
    }
    await db.query('SELECT 1');
    return { ok: true, version, database: db.kind };
  });
  app.get('/openapi.json', async () => openapi);
  app.get('/docs', async (_req, reply) => reply.type('text/html').send(DOCS_HTML));
  const uiDir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  await app.register(fastifyStatic, { root: uiDir, prefix: '/docs/static/', decorateReply: false });
}
