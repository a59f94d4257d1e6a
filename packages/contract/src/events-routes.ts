import type { RouteDef } from './routes.ts';
import { EventStreamQuery, StreamEvent } from './events.ts';

const def = <const T extends RouteDef>(r: T): T => r;

/** Routes the dashboard lives on: the live event stream. */
export const eventRoutes = {
  eventStream: def({
    method: 'GET',
    path: '/v1/events',
    summary:
      'Server-Sent Events (text/event-stream): every VM change as a StreamEvent, with `id:` = seq. Resumable: send `Last-Event-ID` or `?since=`; when the changes since then are no longer kept a `reset` message says to refetch. EventSource clients may pass the token as `?token=`.',
    tag: 'events',
    auth: 'user',
    query: EventStreamQuery,
    response: StreamEvent,
    raw: { produces: ['text/event-stream'] },
    status: 200,
    errors: ['VALIDATION_FAILED'],
  }),
} as const;
