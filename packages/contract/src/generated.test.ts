import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildOpenApi } from './openapi.ts';
import { renderErrorsDoc } from './errors-doc.ts';
import { renderRolesDoc, userRouteIds } from './roles-doc.ts';
import { routeRoles } from './route-roles.ts';
import { errorCatalogue } from './errors.ts';
import { routes } from './routes.ts';

const read = (rel: string) => readFileSync(new URL(rel, import.meta.url), 'utf8');

describe('generated artefacts', () => {
  // openapi.json is not committed (over 5 MiB): the manager serves the document it builds from
  // the route table (GET /openapi.json, checked in api.test.ts), and `npm run docs` writes a copy.
  it('the OpenAPI document of the route table is plain JSON', () => {
    const doc = buildOpenApi('0.1.0');
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });

  it('docs/errors.md matches the error catalogue (run `npm run docs`)', () => {
    expect(read('../../../docs/errors.md')).toBe(renderErrorsDoc());
  });

  it('docs/roles.md matches the route table and routeRoles (run `npm run docs`)', () => {
    expect(read('../../../docs/roles.md')).toBe(renderRolesDoc());
  });

  it('gives every user route a role, and no other route one', () => {
    // The type of routeRoles demands the entries; this holds at run time too (a cast cannot hide one).
    expect(Object.keys(routeRoles).sort()).toEqual(userRouteIds().sort());
    const doc = read('../../../docs/roles.md');
    for (const id of userRouteIds()) expect(doc).toContain(`\`${id}\``);
  });

  it('documents every code and every route', () => {
    const doc = read('../../../docs/errors.md');
    for (const code of Object.keys(errorCatalogue)) expect(doc).toContain(`\`${code}\``);
    const openapi = buildOpenApi('x') as { paths: Record<string, Record<string, { operationId: string }>> };
    const ops = Object.values(openapi.paths).flatMap((p) => Object.values(p).map((o) => o.operationId));
    expect(ops.sort()).toEqual(Object.keys(routes).sort());
  });

  it('gives every error a hint and a 4xx/5xx status', () => {
    for (const [code, e] of Object.entries(errorCatalogue)) {
      expect(e.status, code).toBeGreaterThanOrEqual(400);
      expect(e.hint.length, code).toBeGreaterThan(10);
    }
  });
});
