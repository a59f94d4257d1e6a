import { HearthError, routes } from '@hearth/contract';
import type { FastifyRequest } from 'fastify';
import type { Stores } from '../store/index.ts';
import type { CredentialReader } from './authority.ts';

/** How long a ticket may wait to be used: enough to open one connection, too short to be worth stealing. */
export const TICKET_TTL_MS = 30_000;

/**
 * The only routes a ticket opens: WebSockets and the event stream, whose browser clients cannot
 * send headers. Everywhere else `?ticket=` is ignored.
 */
const TICKET_PATHS = new Set<string>([
  routes.eventStream.path,
  routes.vmConsole.path,
  routes.vmShell.path,
  routes.vmMetricsStream.path,
  routes.vmPortStream.path,
]);

export const TICKET_PARAM = 'ticket';

/** The `?ticket=` of a request on a ticket route, or null. */
function ticketOf(req: FastifyRequest): string | null {
  if (!TICKET_PATHS.has(req.routeOptions.url ?? '')) return null;
  const v = (req.query as Record<string, unknown> | undefined)?.[TICKET_PARAM];
  return typeof v === 'string' && v ? v : null;
}

/**
 * Authenticates WebSocket and event-stream requests by a single-use ticket. A ticket that is
 * sent but unknown, used or expired is refused outright (TICKET_INVALID), not passed over.
 */
export function ticketReader(stores: Pick<Stores, 'tickets'>): CredentialReader {
  return async (req) => {
    const ticket = ticketOf(req);
    if (!ticket) return null;
    const principal = await stores.tickets.redeem(ticket);
    if (!principal) {
      throw new HearthError(
        'TICKET_INVALID',
        'Authenticating failed: the ticket is unknown, already used or expired.',
      );
    }
    return principal;
  };
}
