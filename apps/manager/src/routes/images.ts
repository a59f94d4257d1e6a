import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { HearthError, routes, type ImportEvent } from '@hearth/contract';
import { passThrough } from '@hearth/contract/streams';
import { imageFromRow } from '../store/mappers.ts';
import { serve } from '../http.ts';
import type { AppServices } from '../app.ts';

/**
 * The image registry: list/get, declare + upload, download (users and agents), import, delete.
 * Users see their project's images and the global ones (built-ins); what they add belongs to
 * their project; deleting a global image needs an admin.
 */
export function imageRoutes(app: FastifyInstance, { stores, images, auth }: AppServices): void {
  const t = auth;
  serve(app, t, routes.listImages, async ({ query, project }) => {
    const page = await stores.images.list(project, query.limit, query.cursor);
    return { items: page.items.map(imageFromRow), nextCursor: page.nextCursor };
  });
  serve(app, t, routes.getImage, async ({ params, project }) =>
    imageFromRow(await stores.images.require(params.id, project)),
  );

  serve(app, t, routes.createImage, async ({ body, project }) =>
    imageFromRow(await images.create(body, project)),
  );

  serve(app, t, routes.uploadImageContent, async ({ params, project, req }) => {
    const body = req.body as Readable | undefined;
    if (!body || typeof (body as Readable).pipe !== 'function') {
      throw new HearthError(
        'VALIDATION_FAILED',
        'Uploading the image failed: send the content as the raw body with Content-Type: application/octet-stream.',
      );
    }
    return imageFromRow(await images.upload(params.id, project, body));
  });

  serve(app, t, routes.downloadImageContent, async ({ params, project, principal, reply }) => {
    // An agent fetches the images of the VMs it runs, whichever project they belong to.
    const img =
      principal.kind === 'agent'
        ? await stores.images.requireUnscoped(params.id)
        : await stores.images.require(params.id, project);
    if (img.status !== 'ready' || !img.path) {
      throw new HearthError(
        'IMAGE_NOT_READY',
        `Downloading image "${img.name}" failed: it has no content yet.`,
      );
    }
    reply
      .type('application/octet-stream')
      .header('content-length', String(img.size_bytes))
      .header('x-hearth-sha256', img.sha256);
    return createReadStream(img.path);
  });

  serve(app, t, routes.importImage, async ({ body, project, reply }) => {
    if (!body.stream) {
      const { row } = await images.import(body, project, () => undefined);
      return imageFromRow(row);
    }
    // Progress as NDJSON; failures after the first line travel as an `error` event.
    reply.type('application/x-ndjson');
    const out = passThrough();
    const send = (e: ImportEvent) => out.write(JSON.stringify(e) + '\n');
    void images
      .import(body, project, send)
      .then(({ row, cached }) => send({ type: 'done', image: imageFromRow(row), cached }))
      .catch((e: unknown) => {
        const err =
          e instanceof HearthError
            ? e
            : new HearthError('IMAGE_IMPORT_FAILED', `Importing failed: ${String(e)}`);
        send({ type: 'error', error: { code: err.code, message: err.message, hint: err.hint } });
      })
      .finally(() => out.end());
    return out;
  });

  serve(app, t, routes.deleteImage, async ({ params, project, principal }) =>
    imageFromRow(await images.delete(params.id, project, () => auth.check(principal, 'admin', project))),
  );
}
