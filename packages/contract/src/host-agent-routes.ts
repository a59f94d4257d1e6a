// The manager's routes a host agent calls with its own credentials (registration, heartbeat,
// status reports), apart from the public table so an agent loads these schemas and not the
// whole API's: a long-running process keeps every schema it evaluates at start.
import { z } from 'zod';
import type { RouteDef } from './routes.ts';
import { IdParam } from './common.ts';
import { RegisterHostBody, RegisterHostResponse } from './host.ts';
import { HeartbeatBody, VmStatusReport } from './agent.ts';

const def = <const T extends RouteDef>(r: T): T => r;

export const hostAgentRoutes = {
  registerHost: def({
    method: 'POST',
    path: '/v1/hosts/register',
    summary:
      'Agent registration: a new host with a join token (one use taken); a registered host with its current agent credential (same host id, credentials replaced). Returns the host and its new agent credential.',
    tag: 'hosts',
    auth: 'join',
    body: RegisterHostBody,
    response: RegisterHostResponse,
    status: 200,
    errors: ['INVALID_JOIN_TOKEN', 'VALIDATION_FAILED', 'HOST_IDENTITY_MISMATCH'],
  }),
  heartbeat: def({
    method: 'POST',
    path: '/v1/hosts/:id/heartbeat',
    summary: 'Agent heartbeat: inventory and the actual state of every VM it runs.',
    tag: 'hosts',
    auth: 'agent',
    params: IdParam,
    body: HeartbeatBody,
    response: z.object({
      ok: z.boolean(),
      networks: z
        .array(z.string())
        .optional()
        .describe('Ids of the networks that exist: the agent removes what it built for any other'),
    }),
    status: 200,
    errors: ['HOST_NOT_FOUND', 'FORBIDDEN'],
  }),
  reportVmStatus: def({
    method: 'POST',
    path: '/v1/hosts/:id/vm-status',
    summary: 'Agent push: VM changes it did not cause (guest powered off, VMM died).',
    tag: 'hosts',
    auth: 'agent',
    params: IdParam,
    body: VmStatusReport,
    response: z.object({ ok: z.boolean() }),
    status: 200,
    errors: ['HOST_NOT_FOUND', 'FORBIDDEN'],
  }),
};
