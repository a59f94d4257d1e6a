import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';

/** The caller's credentials, forwarded as is to the Hearth API (auth and roles stay there). */
export type Creds = Record<string, string>;

export interface JsonReply {
  status: number;
  body: unknown;
}

export interface StreamReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  stream: Readable;
}

/**
 * What the Docker translation layer needs from Hearth: its own public routes, called in process.
 * Every call carries the Docker caller's credentials, so authentication, validation, roles and the
 * audit trail are the routes' own.
 */
export interface HearthBackend {
  /** A JSON request; any status comes back (errors as the catalogue's envelope). */
  call(method: string, url: string, creds: Creds, body?: unknown): Promise<JsonReply>;
  /** A streamed response (logs follow, import progress); aborting `signal` ends the request. */
  stream(method: string, url: string, creds: Creds, body: unknown, signal: AbortSignal): Promise<StreamReply>;
  /** A WebSocket route (the VM shell), opened in process. */
  websocket(url: string, creds: Creds): Promise<WebSocket>;
}

type InjectWs = (path: string, ctx: { headers: Record<string, string> }) => Promise<WebSocket>;

/** The backend over the manager's own Fastify app (`inject`, and `injectWS` for WebSockets). */
export function injectBackend(app: FastifyInstance): HearthBackend {
  const headers = (creds: Creds, body: unknown) => ({
    ...creds,
    ...(body === undefined ? {} : { 'content-type': 'application/json' }),
  });
  return {
    async call(method, url, creds, body) {
      const res = await app.inject({
        method: method as 'GET',
        url,
        headers: headers(creds, body),
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
      let parsed: unknown = null;
      try {
        parsed = res.payload ? JSON.parse(res.payload) : null;
      } catch {
        parsed = res.payload;
      }
      return { status: res.statusCode, body: parsed };
    },
    async stream(method, url, creds, body, signal) {
      const res = await app.inject({
        method: method as 'GET',
        url,
        headers: headers(creds, body),
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
        payloadAsStream: true,
        signal,
      });
      return { status: res.statusCode, headers: res.headers as StreamReply['headers'], stream: res.stream() };
    },
    websocket(url, creds) {
      const inject = (app as unknown as { injectWS: InjectWs }).injectWS;
      return inject.call(app, url, { headers: creds });
    },
  };
}
