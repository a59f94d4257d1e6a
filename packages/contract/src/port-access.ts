import { z } from 'zod';
import type { AgentRouteDef } from './agent-routes.ts';
import type { ErrorCode } from './errors.ts';
import type { RouteDef } from './routes.ts';

/**
 * TCP into a VM through its guest agent: one TCP connection per WebSocket, and an HTTP proxy on
 * top of the same streams. Neither needs a published port or a route to the VM's network.
 */
export const PortParams = z.strictObject({
  id: z.string().min(1).max(128),
  port: z.coerce.number().int().min(1).max(65535),
});
export const PortStreamQuery = z.object({
  host: z
    .string()
    .max(64)
    .optional()
    .describe('An address of the guest to connect to (loopback or one of its own); default 127.0.0.1.'),
});

/**
 * Text messages on a port stream's WebSocket; binary messages are the connection's bytes both ways.
 * Server → client: `connected` once the guest reached the port; `eof` when the guest's server
 * closed its sending side; `error` (then the socket closes). Client → server: `eof` half-closes
 * the connection (the server reads end of file and may still answer). The socket closes (1000)
 * once both sides are done or the connection was reset.
 */
export const PortStreamMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('connected') }),
  z.object({ type: z.literal('eof') }),
  z.object({ type: z.literal('error'), code: z.string(), message: z.string() }),
]);
export type PortStreamMessage = z.infer<typeof PortStreamMessage>;

/** Request headers the proxy never passes to the guest: they carry the caller's Hearth credentials. */
export const PROXY_DROPPED_HEADERS = ['authorization', 'cookie', 'x-csrf-token'] as const;

/** What reaching a port in a guest can fail with (port streams, both forms of the HTTP proxy). */
export const GUEST_PORT_ERRORS: ErrorCode[] = [
  'VM_NOT_FOUND',
  'VM_NOT_RUNNING',
  'GUEST_AGENT_UNAVAILABLE',
  'GUEST_AGENT_TIMEOUT',
  'AGENT_UNREACHABLE',
  'GUEST_PORT_UNREACHABLE',
];
const base = { tag: 'vm access', auth: 'user', params: PortParams, status: 200 } as const;
const def = <const T extends RouteDef>(r: T): T => r;
const agentDef = <const T extends AgentRouteDef>(r: T): T => r;

export const portRoutes = {
  vmPortStream: def({
    ...base,
    method: 'GET',
    path: '/v1/vms/:id/ports/:port/stream',
    summary:
      'WebSocket: one TCP connection to `port` in the guest, relayed by the guest agent (no published port or network route needed). Binary messages are the bytes; text messages are PortStreamMessage JSON: server {"type":"connected"}, {"type":"eof"}, {"type":"error","code","message"}; client {"type":"eof"} half-closes. Browsers authenticate with a single-use `?ticket=`.',
    query: PortStreamQuery,
    response: null,
    raw: { websocket: true },
    errors: GUEST_PORT_ERRORS,
  }),
  vmProxy: def({
    ...base,
    method: 'GET',
    path: '/v1/vms/:id/proxy/:port/*',
    summary:
      'HTTP proxy to a server listening on `port` in the guest (any method; path, query, headers and body passed on, streamed both ways), over a guest-agent TCP stream. The Authorization, Cookie and CSRF headers are not passed on; responses are served with `Content-Security-Policy: sandbox` so a page from the guest cannot act with the caller’s session.',
    response: null,
    raw: { produces: ['*/*'] },
    errors: [...GUEST_PORT_ERRORS, 'CSRF_FAILED'],
  }),
} as const;

export const agentPortRoutes = {
  portStream: agentDef({
    method: 'GET',
    path: '/agent/v1/vms/:id/ports/:port/stream',
    summary: 'WebSocket: one TCP connection to a port in the guest (PortStreamMessage for control).',
    params: PortParams,
    query: PortStreamQuery,
    response: null,
    raw: { websocket: true },
  }),
} as const;
