import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { agentRoutes } from '@hearth/contract';
import type { Supervisor } from '../vm/index.ts';
import { serve } from '../http.ts';

const PERSONALIZE_TIMEOUT_MS = 15_000;

/**
 * A pooled VM handed out: its guest agent takes the name, env and users, and from this host the
 * clock and fresh random bytes (read at the moment of hand-out, never earlier).
 */
export function personalizeRoutes(app: FastifyInstance, sup: Supervisor): void {
  serve(app, agentRoutes.personalize, async ({ params, body }) => {
    const guest = await sup.guest(params.id);
    return guest.request<{ adjustedMs: number; machineId: boolean }>(
      {
        op: 'personalize',
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
