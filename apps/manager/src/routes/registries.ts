import type { FastifyInstance } from 'fastify';
import { routes } from '@hearth/contract';
import { serve } from '../http.ts';
import type { AppServices } from '../app.ts';
import { registryCredentialFromRow } from '../store/registry-credentials.ts';

/** A project's private registry credentials: user names are listed, passwords never leave sealed. */
export function registryRoutes(app: FastifyInstance, { stores, registries, auth }: AppServices): void {
  serve(app, auth, routes.putRegistryCredential, ({ params, body, project }) =>
    registries.put(params.name, { ...body, project }),
  );
  serve(app, auth, routes.listRegistryCredentials, async ({ query, project }) => {
    const page = await stores.registryCredentials.list({ ...query, project });
    return { items: page.items.map(registryCredentialFromRow), nextCursor: page.nextCursor };
  });
  serve(app, auth, routes.deleteRegistryCredential, ({ params, project }) =>
    registries.delete(params.name, project),
  );
}
