import type { RouteDef } from './routes.ts';
import { IdParam } from './common.ts';
import { Host } from './host.ts';
import { PatchHostBody } from './placement.ts';

const def = <const T extends RouteDef>(r: T): T => r;

/** Placement settings of a host (labels, overcommit); an administrator's call. */
export const placementRoutes = {
  patchHost: def({
    method: 'PATCH',
    path: '/v1/hosts/:id',
    summary:
      "Change a host's placement settings: labels (set or remove keys), CPU and memory overcommit ratios (null: the manager's default).",
    tag: 'hosts',
    auth: 'user',
    params: IdParam,
    body: PatchHostBody,
    response: Host,
    status: 200,
    errors: ['HOST_NOT_FOUND', 'VALIDATION_FAILED'],
  }),
};
