import type { RouteDef } from './routes.ts';
import { IdParam, pageOf } from './common.ts';
import { CreatePoolBody, ListPoolsQuery, PatchPoolBody, Pool } from './pool.ts';

const def = <const T extends RouteDef>(r: T): T => r;
const base = { tag: 'pools', auth: 'user' } as const;

/** Warm pools: VMs booted ahead of time and handed out by `createVm` with `pool`. */
export const poolRoutes = {
  createPool: def({
    ...base,
    method: 'POST',
    path: '/v1/pools',
    summary: 'Create a warm pool; it fills itself to `size` in the background.',
    body: CreatePoolBody,
    response: Pool,
    status: 201,
    errors: [
      'VALIDATION_FAILED',
      'POOL_NAME_TAKEN',
      'IMAGE_NOT_FOUND',
      'TEMPLATE_NOT_FOUND',
      'NETWORK_NOT_FOUND',
    ],
  }),
  listPools: def({
    ...base,
    method: 'GET',
    path: '/v1/pools',
    summary: 'List warm pools with their ready counts and hit rates.',
    query: ListPoolsQuery,
    response: pageOf(Pool),
    status: 200,
    errors: [],
  }),
  getPool: def({
    ...base,
    method: 'GET',
    path: '/v1/pools/:id',
    summary: 'One pool (id or name).',
    params: IdParam,
    response: Pool,
    status: 200,
    errors: ['POOL_NOT_FOUND'],
  }),
  patchPool: def({
    ...base,
    method: 'PATCH',
    path: '/v1/pools/:id',
    summary: 'Resize a pool or change its spec.',
    params: IdParam,
    body: PatchPoolBody,
    response: Pool,
    status: 200,
    errors: [
      'POOL_NOT_FOUND',
      'VALIDATION_FAILED',
      'IMAGE_NOT_FOUND',
      'TEMPLATE_NOT_FOUND',
      'NETWORK_NOT_FOUND',
    ],
  }),
  deletePool: def({
    ...base,
    method: 'DELETE',
    path: '/v1/pools/:id',
    summary: 'Delete a pool and the VMs waiting in it (VMs already handed out are not touched).',
    params: IdParam,
    response: Pool,
    status: 200,
    errors: ['POOL_NOT_FOUND'],
  }),
} as const;
