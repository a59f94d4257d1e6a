import { z } from 'zod';
import { errorCatalogue, ErrorEnvelope } from './errors.ts';
import { routes, type RouteDef } from './routes.ts';

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const s = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete s.$schema;
  return s;
}

/** Raw media types whose payload (each SSE message's data) is the route's JSON response schema. */
const JSON_LIKE = new Set(['application/json', 'text/event-stream']);

function parameters(r: RouteDef): unknown[] {
  const out: unknown[] = [];
  for (const [where, schema] of [
    ['path', r.params],
    ['query', r.query],
  ] as const) {
    if (!schema) continue;
    const js = jsonSchema(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
    for (const [name, prop] of Object.entries(js.properties ?? {})) {
      out.push({
        name,
        in: where,
        required: where === 'path' || (js.required ?? []).includes(name),
        schema: prop,
      });
    }
  }
  return out;
}

/** The OpenAPI 3.1 document, generated from the route table; served at /openapi.json (`npm run docs` writes a copy). */
export function buildOpenApi(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const errorSchema = jsonSchema(ErrorEnvelope, 'output');
  for (const [operationId, r] of Object.entries(routes) as [string, RouteDef][]) {
    const path = r.path.replace(/:(\w+)/g, '{$1}');
    const json = r.response === null ? null : { schema: jsonSchema(r.response, 'output') };
    const binary = { schema: { type: 'string', contentMediaType: 'application/octet-stream' } };
    const content = r.raw?.produces
      ? Object.fromEntries(r.raw.produces.map((t) => [t, JSON_LIKE.has(t) && json ? json : binary]))
      : r.raw?.websocket
        ? json
          ? { 'application/json': json }
          : {}
        : json
          ? { 'application/json': json }
          : { 'text/plain': { schema: { type: 'string' } } };
    const responses: Record<string, unknown> = r.raw?.websocket
      ? { '101': { description: 'Switching Protocols (WebSocket); messages as described above', content } }
      : { [String(r.status)]: { description: 'Success', content } };
    const statuses = new Set<number>(r.errors.map((c) => errorCatalogue[c].status));
    if (r.auth !== 'none') statuses.add(401);
    for (const status of [...statuses].sort()) {
      const codes = r.errors.filter((c) => errorCatalogue[c].status === status);
      if (status === 401) codes.push(r.auth === 'join' ? 'INVALID_JOIN_TOKEN' : 'UNAUTHENTICATED');
      responses[String(status)] = {
        description: `Error: ${[...new Set(codes)].join(', ')}`,
        content: { 'application/json': { schema: errorSchema } },
      };
    }
    (paths[path] ??= {})[r.method.toLowerCase()] = {
      operationId,
      summary: r.summary,
      tags: [r.tag],
      ...(r.auth === 'none' ? { security: [] } : {}),
      parameters: parameters(r),
      ...(r.raw?.websocket ? { 'x-websocket': true } : {}),
      ...(r.raw?.consumes
        ? {
            requestBody: {
              required: true,
              content: Object.fromEntries(r.raw.consumes.map((t) => [t, binary])),
            },
          }
        : {}),
      ...(r.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: jsonSchema(r.body, 'input') } },
            },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Hearth API',
      version,
      description:
        'Self-hosted microVM platform. Errors use one envelope; codes are listed in docs/errors.md.',
    },
    servers: [{ url: 'http://127.0.0.1:18080' }],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths,
  };
}
