import type { FastifyInstance } from 'fastify';
import { routes } from '@hearth/contract';
import { imageFromRow } from '../store/mappers.ts';
import { serve } from '../http.ts';
import type { AppServices } from '../app.ts';

export function imageRoutes(app: FastifyInstance, { stores }: AppServices): void {
  serve(app, stores.tokens, routes.listImages, async ({ query }) => {
    const page = await stores.images.list(query.limit, query.cursor);
    return { items: page.items.map(imageFromRow), nextCursor: page.nextCursor };
  });
  serve(app, stores.tokens, routes.getImage, async ({ params }) =>
    imageFromRow(await stores.images.require(params.id)),
  );
}
