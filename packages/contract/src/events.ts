import { z } from 'zod';
import { Vm } from './vm.ts';

/**
 * One message of the live event stream (`GET /v1/events`, Server-Sent Events). The SSE `id:` of
 * each message is its `seq`; `event:` is its `type`.
 * - `vm`: a VM changed (created, moved state, patched); `vm` is its new shape.
 * - `gone`: a VM was deleted.
 * - `hello`: first message of a fresh connection, carrying the current position.
 * - `reset`: the stream cannot replay everything since the position the client asked for (too old,
 *   or from an earlier manager process); refetch whatever you keep and continue from here.
 */
export const StreamEvent = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('vm'), seq: z.number().int(), vm: Vm }),
    z.object({ type: z.literal('gone'), seq: z.number().int(), vmId: z.string() }),
    z.object({ type: z.literal('hello'), seq: z.number().int() }),
    z.object({ type: z.literal('reset'), seq: z.number().int() }),
  ])
  .meta({ id: 'StreamEvent' });
export type StreamEvent = z.infer<typeof StreamEvent>;

export const EventStreamQuery = z.strictObject({
  since: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .describe('Replay changes after this `seq` (the `Last-Event-ID` header does the same).'),
  ticket: z
    .string()
    .optional()
    .describe(
      'A single-use ticket (POST /v1/auth/tickets), for clients that cannot set headers (EventSource).',
    ),
  project: z
    .string()
    .optional()
    .describe(
      "The project whose VMs to follow (as X-Hearth-Project, which EventSource cannot send). Without one, a platform admin follows every project; anyone else the request's project.",
    ),
});
