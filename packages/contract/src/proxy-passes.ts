import { z } from 'zod';
import { IdParam, Timestamp } from './common.ts';
import { GUEST_PORT_ERRORS } from './port-access.ts';
import type { RouteDef } from './routes.ts';

const def = <const T extends RouteDef>(r: T): T => r;

/** How long a proxy pass lasts unless asked otherwise, and the most it may be given. */
export const PROXY_PASS_DEFAULT_TTL_S = 3600;
export const PROXY_PASS_MAX_TTL_S = 12 * 3600;

export const ProxyPassBody = z
  .strictObject({
    port: z.number().int().min(1).max(65535).describe('The TCP port in the guest the pass opens.'),
    ttlSeconds: z
      .number()
      .int()
      .min(60)
      .max(PROXY_PASS_MAX_TTL_S)
      .optional()
      .describe(`How long the pass works; default ${PROXY_PASS_DEFAULT_TTL_S} s.`),
  })
  .meta({ id: 'ProxyPassBody' });
export type ProxyPassBody = z.infer<typeof ProxyPassBody>;

export const ProxyPass = z
  .object({
    path: z
      .string()
      .describe(
        'Where the app is: `/v1/proxy-passes/{pass}/` on this manager. The pass in it is the credential: whoever has the address reaches this one port of this one VM until it expires.',
      ),
    vmId: z.string(),
    port: z.number().int(),
    expiresAt: Timestamp,
  })
  .meta({ id: 'ProxyPass' });
export type ProxyPass = z.infer<typeof ProxyPass>;

export const ProxyPassParams = z.strictObject({
  pass: z.string().min(1).max(128),
});

/**
 * The HTTP proxy for browsers. A page served by the proxy is sandboxed (opaque origin), so the
 * browser sends no session cookie with its own requests; a pass puts a capability for one port
 * of one VM in the path instead, and the page's relative links carry it along.
 */
export const proxyPassRoutes = {
  createProxyPass: def({
    tag: 'vm access',
    auth: 'user',
    method: 'POST',
    path: '/v1/vms/:id/proxy-passes',
    summary:
      'A pass for the HTTP proxy to one port of the VM, for browsers: open `path` and the app’s pages, scripts, styles and requests all go through it (relative links keep the pass). Valid until `expiresAt`, and only while the caller still holds the operator role in the project.',
    params: IdParam,
    body: ProxyPassBody,
    response: ProxyPass,
    status: 201,
    errors: ['VM_NOT_FOUND', 'VALIDATION_FAILED'],
  }),
  vmProxyPass: def({
    tag: 'vm access',
    auth: 'none',
    method: 'GET',
    path: '/v1/proxy-passes/:pass/*',
    summary:
      'The HTTP proxy (as /v1/vms/{id}/proxy/{port}/…) authorized by a pass in the path instead of a credential. Responses are sandboxed and sent with `Referrer-Policy: no-referrer`, so the pass does not leave in a Referer.',
    params: ProxyPassParams,
    status: 200,
    response: null,
    raw: { produces: ['*/*'] },
    errors: [...GUEST_PORT_ERRORS, 'PROXY_PASS_INVALID'],
  }),
} as const;
