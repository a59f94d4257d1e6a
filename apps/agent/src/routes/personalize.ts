import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { agentRoutes, IDENTITY_FULL_FEATURE } from '@hearth/contract';
import type { Supervisor } from '../vm/index.ts';
import { serve } from '../http.ts';

const PERSONALIZE_TIMEOUT_MS = 15_000;

/**
 * A pooled VM handed out: its guest agent takes the name, env and users, and from this host the
 * clock and fresh random bytes (read at the moment of hand-out, never earlier), and a new
 * machine-id. One guest op, `identity`, as after a restore; a guest from before that op took
 * all of it knows the same request as `personalize`.
 */
export function personalizeRoutes(app: FastifyInstance, sup: Supervisor): void {
  serve(app, agentRoutes.personalize, async ({ params, body }) => {
    const guest = await sup.guest(params.id);
    // Before the guest op: the identity is taken, and the user's first requests served, at full weight.
    await sup.foreground(params.id);
    return guest.request<{ adjustedMs: number; machineId: boolean }>(
      {
        op: guest.info?.capabilities.includes(IDENTITY_FULL_FEATURE) ? 'identity' : 'personalize',
        renewMachineId: true,
        hostname: body.hostname,
        env: body.env,
        users: body.users,
        unixMs: Date.now(),
        entropy: randomBytes(64).toString('base64'),
      },
      PERSONALIZE_TIMEOUT_MS,
    );
  });
}
