import type { RouteDef } from './routes.ts';
import { IdParam } from './common.ts';
import { DeclaredDeadHost, Host } from './host.ts';

const def = <const T extends RouteDef>(r: T): T => r;

/** Host lifecycle: keep new VMs off a host, let them back, and declare a host that is gone dead. */
export const hostOpsRoutes = {
  cordonHost: def({
    tag: 'hosts',
    auth: 'user',
    method: 'POST',
    path: '/v1/hosts/:id/cordon',
    summary: 'Place no new VMs on the host (its VMs keep running). Idempotent.',
    params: IdParam,
    response: Host,
    status: 200,
    errors: ['HOST_NOT_FOUND'],
  }),
  uncordonHost: def({
    tag: 'hosts',
    auth: 'user',
    method: 'POST',
    path: '/v1/hosts/:id/uncordon',
    summary: 'Let placement use the host again. Idempotent.',
    params: IdParam,
    response: Host,
    status: 200,
    errors: ['HOST_NOT_FOUND'],
  }),
  declareHostDead: def({
    tag: 'hosts',
    auth: 'user',
    method: 'POST',
    path: '/v1/hosts/:id/declare-dead',
    summary:
      "The operator's statement that the host is down and stays down (fenced): VMs with restart policy `always` are started on another host (from their latest snapshot on a live host, else from their image), the rest become `lost` with why. The host is cordoned; if its agent comes back it is told to destroy those VMs. Refused while the host heartbeats.",
    params: IdParam,
    response: DeclaredDeadHost,
    status: 200,
    errors: ['HOST_NOT_FOUND', 'HOST_REACHABLE'],
  }),
};
