import type { ErrorCode } from './errors.ts';
import type { RouteDef } from './routes.ts';
import { IdParam, pageOf } from './common.ts';
import { z } from 'zod';
import { CreateNetworkBody, Lease, ListNetworksQuery, Network } from './network.ts';

const def = <const T extends RouteDef>(r: T): T => r;
const NET: ErrorCode[] = ['NETWORK_NOT_FOUND'];
const base = { tag: 'networks', auth: 'user' } as const;

/** Networks VMs attach to; the default NAT network exists from the first start. */
export const networkRoutes = {
  createNetwork: def({
    ...base,
    method: 'POST',
    path: '/v1/networks',
    summary: 'Create a network: nat, isolated, bridged (optionally on a VLAN) or vxlan.',
    body: CreateNetworkBody,
    response: Network,
    status: 201,
    errors: [
      'VALIDATION_FAILED',
      'NETWORK_NAME_TAKEN',
      'NETWORK_CIDR_OVERLAP',
      'NETWORK_CIDR_TOO_SMALL',
      'NETWORK_INVALID',
      'NETWORK_VNI_TAKEN',
      'NETWORK_INTERFACE_MISSING',
      'NETWORK_FEATURE_MISSING',
    ],
  }),
  listNetworks: def({
    ...base,
    method: 'GET',
    path: '/v1/networks',
    summary: 'List networks.',
    query: ListNetworksQuery,
    response: pageOf(Network),
    status: 200,
    errors: [],
  }),
  getNetwork: def({
    ...base,
    method: 'GET',
    path: '/v1/networks/:id',
    summary: 'One network (id or name).',
    params: IdParam,
    response: Network,
    status: 200,
    errors: NET,
  }),
  deleteNetwork: def({
    ...base,
    method: 'DELETE',
    path: '/v1/networks/:id',
    summary: 'Delete a network; every host removes its bridge, tunnels and rules. Refused while VMs use it.',
    params: IdParam,
    response: Network,
    status: 200,
    errors: [...NET, 'NETWORK_IN_USE', 'NETWORK_BUILTIN'],
  }),
  listLeases: def({
    ...base,
    method: 'GET',
    path: '/v1/networks/:id/leases',
    summary: "The network's addresses in use: one per VM NIC (DHCP ones once the guest reported them).",
    params: IdParam,
    response: z.object({ items: z.array(Lease) }),
    status: 200,
    errors: NET,
  }),
};
