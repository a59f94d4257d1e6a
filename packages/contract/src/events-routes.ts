import type { RouteDef } from './routes.ts';
import { EventStreamQuery, StreamEvent } from './events.ts';

const def = <const T extends RouteDef>(r: T): T => r;

/** Routes the dashboard lives on: the live event stream. */
export const eventRoutes = {
  eventStream: def({
    method: 'GET',
    path: '/v1/events',
    summary:
      'Server-Sent Events (text/event-stream): every VM change as a StreamEvent, with `id:` = seq. Resumable: send `Last-Event-ID` or `?since=`; when the changes since then are no longer kept a `reset` message says to refetch. Authenticate with the bearer header, the session cookie, or a single-use `?ticket=` from POST /v1/auth/tickets (EventSource cannot set headers); a token in the URL is refused.',
    tag: 'events',
    auth: 'user',
    query: EventStreamQuery,
    response: StreamEvent,
    raw: { produces: ['text/event-stream'] },
    status: 200,
    errors: ['VALIDATION_FAILED'],
  }),
} as const;
