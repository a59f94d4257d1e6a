import type { FastifyReply, FastifyRequest } from 'fastify';
import type { InvokeResult } from '@hearth/contract';

/** Headers never handed to a handler: the caller's credentials for Hearth itself. */
const DROPPED = new Set(['authorization', 'cookie', 'x-hearth-csrf']);

/**
 * The event of an HTTP trigger call, in the shape of API Gateway's HTTP API (payload 2.0), so
 * handlers written for it run unchanged: raw path and query, headers, the body as text (base64
 * when it is not UTF-8 text).
 */
export function eventOfRequest(req: FastifyRequest, prefix: string) {
  const q = req.url.indexOf('?');
  const rawPath = (q >= 0 ? req.url.slice(0, q) : req.url).slice(prefix.length) || '/';
  const rawQueryString = q >= 0 ? req.url.slice(q + 1) : '';
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || DROPPED.has(k)) continue;
    headers[k] = Array.isArray(v) ? v.join(',') : v;
  }
  const buf = Buffer.isBuffer(req.body) ? req.body : null;
  const text = buf?.toString('utf8');
  const isText = buf !== null && Buffer.from(text!, 'utf8').equals(buf);
  const query: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(rawQueryString)) query[k] = query[k] ? `${query[k]},${v}` : v;
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    headers,
    queryStringParameters: query,
    requestContext: {
      http: { method: req.method, path: rawPath, sourceIp: req.ip, userAgent: headers['user-agent'] ?? '' },
      requestId: req.id,
      timeEpoch: Date.now(),
    },
    body: buf === null ? null : isText ? text : buf.toString('base64'),
    isBase64Encoded: buf !== null && !isText,
  };
}

/**
 * The handler's answer as HTTP: `{statusCode, headers, body, isBase64Encoded}` as given; any
 * other value as JSON with 200; a handler error 502 and a timeout 504, with the request id.
 */
export function sendHandlerResponse(out: InvokeResult, reply: FastifyReply): FastifyReply {
  reply.header('x-hearth-request-id', out.requestId);
  if (out.status !== 'ok') {
    return reply
      .code(out.status === 'timeout' ? 504 : 502)
      .type('application/json')
      .send({ requestId: out.requestId, status: out.status, error: out.error });
  }
  const r = out.result as {
    statusCode?: unknown;
    headers?: Record<string, unknown>;
    body?: unknown;
    isBase64Encoded?: boolean;
  } | null;
  if (r && typeof r === 'object' && typeof r.statusCode === 'number') {
    reply.code(r.statusCode);
    for (const [k, v] of Object.entries(r.headers ?? {})) reply.header(k, String(v));
    if (r.body === undefined || r.body === null) return reply.send('');
    if (typeof r.body !== 'string') return reply.type('application/json').send(JSON.stringify(r.body));
    return reply.send(r.isBase64Encoded ? Buffer.from(r.body, 'base64') : r.body);
  }
  return reply
    .code(200)
    .type('application/json')
    .send(JSON.stringify(out.result ?? null));
}
